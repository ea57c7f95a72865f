"""Audit: a signed, Merkle-checkpointed export of the event log, and its verifier.

``export_log`` writes the log as JSON lines with signed checkpoints; ``verify_export`` checks
such a file with nothing else (optionally against a checkpoint or key id a party pinned) and
names every changed, missing, inserted or reordered event.
"""

from rofr.audit.checkpoint import (
    Checkpoint,
    key_id,
    load_or_create_signing_key,
    public_key_from_hex,
    public_key_hex,
    read_checkpoint,
    sign_checkpoint,
    verify_checkpoint,
    write_checkpoint,
)
from rofr.audit.compliance import ComplianceReport, RequirementEvidence, compliance_report
from rofr.audit.export import FORMAT, ExportSummary, export_log, leaf_data
from rofr.audit.proofs import InclusionProof, inclusion_proof_for, verify_inclusion_proof
from rofr.audit.report_html import report_html
from rofr.audit.result import Problem, VerifyResult
from rofr.audit.verify import verify_export

__all__ = [
    "FORMAT",
    "Checkpoint",
    "ComplianceReport",
    "ExportSummary",
    "InclusionProof",
    "Problem",
    "RequirementEvidence",
    "VerifyResult",
    "compliance_report",
    "export_log",
    "inclusion_proof_for",
    "key_id",
    "leaf_data",
    "load_or_create_signing_key",
    "public_key_from_hex",
    "public_key_hex",
    "read_checkpoint",
    "report_html",
    "sign_checkpoint",
    "verify_checkpoint",
    "verify_export",
    "verify_inclusion_proof",
    "write_checkpoint",
]
