/* The results page keeps itself current: while it is visible it asks the server every few
   seconds for a short version string (one small read), and only when that changed does it
   fetch the page again and swap in the new figures. Without JavaScript the page is simply
   current as of its loading. */
(function () {
  "use strict";
  var root = document.getElementById("results");
  if (!root || !window.fetch || !window.DOMParser) return;
  var status = document.getElementById("results-live");
  var every = parseInt(root.getAttribute("data-poll"), 10) || 20000;
  var busy = false;
  var failed = false;

  function say(text) {
    if (status) status.textContent = text;
  }

  function clock() {
    var now = new Date();
    return ("0" + now.getHours()).slice(-2) + ":" + ("0" + now.getMinutes()).slice(-2);
  }

  function openDetails(body) {
    var open = [];
    body.querySelectorAll("details").forEach(function (item, index) {
      if (item.open) open.push(index);
    });
    return open;
  }

  function refresh() {
    return fetch(window.location.pathname, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (!response.ok) throw new Error("page " + response.status);
        return response.text();
      })
      .then(function (html) {
        var page = new DOMParser().parseFromString(html, "text/html");
        var fresh = page.getElementById("results-body");
        var freshRoot = page.getElementById("results");
        var body = document.getElementById("results-body");
        if (!fresh || !freshRoot || !body) throw new Error("no results in the page");
        var open = openDetails(body);
        body.replaceWith(fresh);
        fresh.querySelectorAll("details").forEach(function (item, index) {
          if (open.indexOf(index) >= 0) item.open = true;
        });
        root.setAttribute("data-version", freshRoot.getAttribute("data-version"));
        var template = root.getAttribute("data-updated") || "Results updated at {time}.";
        say(template.replace("{time}", clock()));
      });
  }

  function check() {
    if (busy || document.hidden) return;
    busy = true;
    fetch(root.getAttribute("data-version-url"), {
      credentials: "same-origin",
      cache: "no-store",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        if (!response.ok) throw new Error("version " + response.status);
        return response.json();
      })
      .then(function (data) {
        if (failed) {
          failed = false;
          say("");
        }
        if (data.version !== root.getAttribute("data-version")) return refresh();
      })
      .catch(function () {
        if (!failed) say(root.getAttribute("data-stale") || "");
        failed = true;
      })
      .then(function () {
        busy = false;
      });
  }

  window.setInterval(check, every);
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) check();
  });
  window.addEventListener("focus", check);
})();
