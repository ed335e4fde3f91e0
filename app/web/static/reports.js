// A report being prepared: ask its status every few seconds instead of reloading the page,
// then fetch the download once it is ready (the page's meta refresh is the no-JS way).
(function () {
  "use strict";
  var state = document.getElementById("report-state");
  if (!state || !window.fetch) return;
  var refresh = document.querySelector('meta[http-equiv="refresh"]');
  if (refresh) refresh.parentNode.removeChild(refresh);
  var statusUrl = state.getAttribute("data-status-url");
  var downloadUrl = state.getAttribute("data-download-url");
  var tries = 0;
  function ask() {
    tries += 1;
    fetch(statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : { state: "unknown" }; })
      .then(function (body) {
        if (body.state === "preparing" && tries < 200) {
          window.setTimeout(ask, Math.max(1, body.retry_after || 2) * 1000);
          return;
        }
        if (body.state === "ready") state.textContent = state.getAttribute("data-ready-text");
        // Ready, failed or overtaken by a newer change: the download URL answers for each.
        window.location.assign(downloadUrl);
      })
      .catch(function () { window.setTimeout(ask, 5000); });
  }
  window.setTimeout(ask, 1000);
})();
