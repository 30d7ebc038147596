// Shows the refresh interval slider's value as it moves (the form works without this).
(function () {
  var slider = document.getElementById("refresh");
  var shown = document.getElementById("refresh-value");
  if (!slider || !shown) { return; }
  slider.addEventListener("input", function () { shown.textContent = slider.value; });
})();

// Shows the chosen element's resources and settings, and sends only those (disabled fields are
// not sent). Without scripts, the links beside the list open the form for another element.
(function () {
  var select = document.getElementById("element");
  var parts = document.querySelectorAll(".element-part");
  if (!select || parts.length === 0) { return; }
  function show() {
    for (var i = 0; i < parts.length; i++) {
      var chosen = parts[i].getAttribute("data-element") === select.value;
      parts[i].disabled = !chosen;
      parts[i].hidden = !chosen;
    }
  }
  select.addEventListener("change", show);
  show();
})();
