// The dashboard's services board between refreshes: each row's check time (sent as UTC, so a
// cached row stays true) shown as "40 s ago" and kept current, the UTC time kept as its tooltip;
// and the time of the last refresh (a 304 counts: the board was confirmed unchanged).
(function () {
  "use strict";

  function ago(seconds) {
    if (seconds < 5) return "just now";
    if (seconds < 60) return seconds + " s ago";
    if (seconds < 3600) return Math.floor(seconds / 60) + " min ago";
    if (seconds < 86400) return Math.floor(seconds / 3600) + " h ago";
    return Math.floor(seconds / 86400) + " d ago";
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("#svc-board time[data-ago]").forEach(function (el) {
      var at = Date.parse(el.getAttribute("datetime"));
      if (isNaN(at)) return;
      if (!el.title) el.title = el.textContent;
      el.textContent = ago(Math.max(0, Math.round((now - at) / 1000)));
    });
  }

  function clock(date) {
    return date.toISOString().slice(11, 19) + " UTC";
  }

  document.addEventListener("htmx:afterRequest", function (event) {
    var source = event.detail.elt;
    var label = document.getElementById("svc-updated");
    if (!label || !source || !source.closest || !source.closest("#svc-board")) return;
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    if (status >= 200 && status < 400) {
      label.textContent = "updated " + clock(new Date()) + " · refreshes every 5 s";
      label.classList.remove("stale");
    } else {
      label.textContent = "refresh failed at " + clock(new Date()) + ", retrying";
      label.classList.add("stale");
    }
  });
  document.addEventListener("htmx:afterSettle", tick);
  document.addEventListener("DOMContentLoaded", tick);
  setInterval(tick, 5000);
})();
