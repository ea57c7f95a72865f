"""The compliance report as one self-contained HTML file (inline CSS, no scripts, no links out)."""

from __future__ import annotations

from html import escape

from rofr.audit.compliance import ComplianceReport, RequirementEvidence
from rofr.values import Placement

__all__ = ["report_html"]

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}
h3{font-size:1.05em;margin:1.4em 0 .3em}
table{border-collapse:collapse;margin:.4em 0;width:100%}
td,th{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f4f4f4}.ok{color:#08751f}.bad{color:#b00020;font-weight:bold}
.muted{color:#777}code{font-size:12px;word-break:break-all}
section.req{border-left:4px solid #08751f;padding-left:10px}
section.req.fail{border-left-color:#b00020}
"""


def _mark(ok: bool | None) -> str:
    if ok is None:
        return '<span class="muted">–</span>'
    return '<span class="ok">&#10003;</span>' if ok else '<span class="bad">&#10007;</span>'


def _placements(title: str, items: list[Placement]) -> str:
    if not items:
        return ""
    rows = "".join(
        f"<tr><td>{escape(p.id)}</td><td>{escape(p.provider)}</td><td>{p.gpus}</td>"
        f"<td>{escape(p.sku)}</td><td>{escape(p.region)}</td><td>{p.unit_price}</td>"
        f"<td>{p.start:%Y-%m-%d %H:%M}</td><td>{escape(p.basis.value)}</td></tr>"
        for p in items
    )
    return (
        f"<h3>{escape(title)}</h3><table><tr><th>placement</th><th>provider</th><th>GPUs</th>"
        f"<th>sku</th><th>region</th><th>USD/GPU-h</th><th>start</th><th>basis</th></tr>"
        f"{rows}</table>"
    )


def _requirement(r: RequirementEvidence) -> str:
    parts = [
        f'<section class="req{"" if r.ok else " fail"}" id="{escape(r.requirement_id)}">',
        f"<h2>{_mark(r.ok)} {escape(r.requirement_id)}</h2>",
        f"<p>{escape(r.kind)}, {r.gpus} GPUs, version <b>{escape(r.version_id)}</b>; "
        f"first refusal: <b>{escape(r.clause_id or 'none')}</b>"
        f"{' held by ' + escape(r.holder) if r.holder else ''}; final: {escape(r.final)}</p>",
        f"<p class='muted'>screening: {escape(r.screening)}</p>",
    ]
    if r.notices:
        rows = "".join(
            f"<tr><td>{escape(n.offer_id)}</td><td>{n.sent_at:%Y-%m-%d %H:%M}Z</td>"
            f"<td>{n.deadline:%Y-%m-%d %H:%M}Z</td><td>{escape(n.clause_id)} / "
            f"{escape(n.version_id)}</td><td><code>{escape(n.content_hash)}</code></td>"
            f"<td>{escape(n.terms)}</td><td>{escape(n.answer)}"
            f"{f' ({n.answered_at:%Y-%m-%d %H:%M}Z)' if n.answered_at else ''}</td></tr>"
            for n in r.notices
        )
        parts.append(
            "<h3>Notices to the holder</h3><table><tr><th>offer</th><th>sent</th>"
            "<th>deadline</th><th>clause / version</th><th>content hash</th><th>terms shown</th>"
            f"<th>answer</th></tr>{rows}</table>"
        )
    parts.append(_placements("Placed with the holder", r.holder_placements))
    for d in r.rival_deals:
        window = (
            "no post-decline window"
            if d.window_due is None
            else f"closed {d.decided_at:%Y-%m-%d %H:%M}Z, window ends {d.window_due:%Y-%m-%d %H:%M}Z"
        )
        rows = "".join(
            f"<tr><td>{escape(f.name)}</td><td>{escape(f.rival)}</td><td>{escape(f.shown)}</td>"
            f"<td>{_mark(f.ok)}</td></tr>"
            for f in d.fields
        )
        parts.append(
            f"<h3>Rival deal {escape(d.placement.id)} with {escape(d.placement.provider)} "
            f"vs notice {escape(d.offer_id or '-')}: no more favourable {_mark(d.no_more_favourable)}"
            f"</h3><table><tr><th>field</th><th>rival deal</th><th>shown to holder</th><th></th>"
            f"</tr>{rows}</table><p>{_mark(d.closed_in_window)} {escape(window)}</p>"
        )
    parts.append(_placements("Other placements (no notice required)", r.other_placements))
    for title, items in (
        ("Revivals", r.revivals),
        ("Waivers that applied", r.waivers),
        ("Triggers", r.triggers),
        ("Invariant violations", [f"{v.invariant}: {v.message}" for v in r.violations]),
    ):
        if items:
            parts.append(f"<h3>{title}</h3><ul>")
            parts += [f"<li>{escape(x)}</li>" for x in items]
            parts.append("</ul>")
    parts.append("</section>")
    return "\n".join(p for p in parts if p)


def report_html(report: ComplianceReport, *, title: str = "rofr compliance report") -> str:
    """The whole report as an HTML document."""
    inv_rows = "".join(
        f"<tr><td>{i.number}</td><td>{escape(i.title)}</td><td>{_mark(i.ok)}</td>"
        f"<td>{'<br>'.join(escape(d) for d in i.details) or 'holds'}</td></tr>"
        for i in report.invariants
    )
    index = " ".join(
        f'<a href="#{escape(r.requirement_id)}">{escape(r.requirement_id)}</a>'
        for r in report.requirements
    )
    body = "\n".join(_requirement(r) for r in report.requirements)
    verdict = "all checks pass" if report.ok else "problems found"
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}'
        f"</title><style>{_CSS}</style></head><body><h1>{escape(title)}</h1>"
        f"<p>{report.events} events, {len(report.requirements)} requirements: "
        f"{_mark(report.ok)} {verdict}</p><h2>Invariants (DESIGN.md)</h2><table><tr><th>#</th>"
        f"<th>invariant</th><th></th><th>findings</th></tr>{inv_rows}</table>"
        f"<p>{index}</p>{body}</body></html>\n"
    )
