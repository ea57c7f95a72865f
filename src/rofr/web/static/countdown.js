// Live countdowns to offer deadlines. Each [data-deadline] element counts down against the
// server's clock (the page's data-now, corrected for the time the page took to arrive), not
// the browser's. At zero it says "deadline passed" and, a few seconds later, re-fetches its
// section ([data-refresh]) or the page, so the deemed decline the service's timer loop records
// appears without a manual reload. Re-fetches stop after a few tries.
(function () {
  "use strict";
  var skew = Date.parse(document.body.dataset.now) - Date.now();
  var REFRESH_MS = 3000, MAX_TRIES = 10, tries = 0, pending = false;

  function fmt(ms) {
    var s = Math.floor(ms / 1000), d = Math.floor(s / 86400);
    var h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    return (d ? d + "d " : "") + pad(h) + ":" + pad(m) + ":" + pad(sec) + " left";
  }

  function refresh(el) {
    if (pending || tries >= MAX_TRIES) return;
    pending = true;
    tries += 1;
    setTimeout(function () {
      var box = el.closest("[data-refresh]");
      if (!box) {
        // A whole page: count reloads per page, so a stopped timer loop cannot make it spin.
        var key = "rofr-reloads:" + window.location.pathname;
        var done = Number(window.sessionStorage.getItem(key) || 0);
        if (done < MAX_TRIES) {
          window.sessionStorage.setItem(key, String(done + 1));
          window.location.reload();
        }
        return;
      }
      fetch(box.dataset.refresh, { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) { box.innerHTML = html; })
        .catch(function () { /* keep what is shown; the next tick tries again */ })
        .then(function () { pending = false; tick(); });
    }, REFRESH_MS);
  }

  function tick() {
    var now = Date.now() + skew;
    document.querySelectorAll("[data-deadline]").forEach(function (el) {
      var left = Date.parse(el.dataset.deadline) - now;
      if (left > 0) { el.textContent = fmt(left); return; }
      el.textContent = "deadline passed";
      el.classList.add("passed");
      refresh(el);
    });
  }

  tick();
  setInterval(tick, 1000);
})();
