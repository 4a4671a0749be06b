// Reloads a read view of the Alfred admin page every data-refresh seconds: not while the tab is
// hidden, not while the operator has a control focused (a button, a field), and never over a
// form being sent. The reload drops the query (a notice after an action is shown once).
(function () {
  "use strict";
  var secs = Number(document.body.getAttribute("data-refresh") || 0);
  if (!secs) {
    return;
  }
  var sending = false;
  document.addEventListener("submit", function () {
    sending = true;
  });
  window.setInterval(function () {
    var active = document.activeElement;
    if (sending || document.hidden || (active && active !== document.body)) {
      return;
    }
    window.location.replace(window.location.pathname);
  }, secs * 1000);
})();
