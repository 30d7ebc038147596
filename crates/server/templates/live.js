// Keeps an instance page's pollers and events current: every five seconds the server renders the
// section again and it replaces the old one. Nothing else on the page is touched, so forms
// keep what the user typed.
(function () {
  var live = document.getElementById("live");
  if (!live || !window.fetch) { return; }
  var url = live.getAttribute("data-refresh");
  setInterval(function () {
    if (document.hidden || live.contains(document.activeElement)) { return; }
    fetch(url, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html !== null) { live.innerHTML = html; } })
      .catch(function () {});
  }, 5000);
})();
