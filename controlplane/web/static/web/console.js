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
