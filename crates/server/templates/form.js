// Shows the refresh interval slider's value as it moves (the form works without this).
(function () {
  var slider = document.getElementById("refresh");
  var shown = document.getElementById("refresh-value");
  if (!slider || !shown) { return; }
  slider.addEventListener("input", function () { shown.textContent = slider.value; });
})();
