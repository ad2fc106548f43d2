// Small behaviours on top of htmx for the Gatehouse console.
(function () {
  "use strict";
  // Polling regions carry data-pause-when-focused: they are not replaced while focus is
  // inside them, so nobody loses a half-typed comment or their keyboard position.
  window.gatehouseIdle = function () {
    var active = document.activeElement;
    return !(active && active.closest("[data-pause-when-focused]"));
  };
  // The server says what a write did in an HX-Trigger event; read it out in the page's
  // live region (the changed row itself may be replaced by the next refresh).
  document.body.addEventListener("gatehouse-status", function (event) {
    var region = document.getElementById("console-status");
    if (!region) return;
    region.textContent = event.detail.message;
    region.dataset.ok = event.detail.ok ? "true" : "false";
  });
  // Elements of class "countdown" with data-expires-at (an ISO time) count down each second,
  // in the words the server renders ("1 h 5 min", "2 min 3 s"; "ended" once past).
  function durationText(total) {
    var hours = Math.floor(total / 3600), minutes = Math.floor((total % 3600) / 60), secs = total % 60;
    var parts = [];
    if (hours) parts.push(hours + " h");
    if (minutes) parts.push(minutes + " min");
    if (secs) parts.push(secs + " s");
    return parts.join(" ") || "0 s";
  }
  function countDown() {
    var now = Date.now();
    document.querySelectorAll(".countdown[data-expires-at]").forEach(function (element) {
      var left = Math.floor((Date.parse(element.dataset.expiresAt) - now) / 1000);
      if (isNaN(left)) return;
      element.textContent = left > 0 ? durationText(left) : "ended";
      element.classList.toggle("ended", left <= 0);
    });
  }
  countDown();
  window.setInterval(countDown, 1000);
  document.body.addEventListener("htmx:afterSwap", countDown);
  // "Copy" buttons copy the text of the element named by data-copy.
  document.body.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.getElementById(button.dataset.copy);
    if (source && navigator.clipboard) {
      navigator.clipboard.writeText(source.value || source.textContent).then(function () {
        button.textContent = "Copied";
      });
    }
  });
})();
