// The dataset page's photo browser: keyboard moves between photos (arrows), space selects (the checkbox's own
// behaviour), enter opens the photo; "select this page" and a live count of the selection. Works without it:
// the checkboxes, the scope choice and the form are plain HTML.
(function () {
  "use strict";
  var grid = document.getElementById("photo-grid");
  var form = document.getElementById("photo-form");
  if (!grid || !form) return;
  var boxes = Array.prototype.slice.call(grid.querySelectorAll("input[type=checkbox][name=image]"));
  var count = document.getElementById("selected-count");
  var selectPage = document.getElementById("select-page");
  var matching = document.getElementById("scope-matching");

  function updateCount() {
    var n = boxes.filter(function (b) { return b.checked; }).length;
    if (count) count.textContent = String(n);
    if (selectPage) {
      selectPage.checked = n > 0 && n === boxes.length;
      selectPage.indeterminate = n > 0 && n < boxes.length;
    }
  }

  function columns() {  // photos per row, from their layout
    if (boxes.length < 2) return 1;
    var top = boxes[0].closest("li").offsetTop;
    var n = 0;
    while (n < boxes.length && boxes[n].closest("li").offsetTop === top) n++;
    return Math.max(n, 1);
  }

  grid.addEventListener("keydown", function (event) {
    var i = boxes.indexOf(event.target);
    if (i < 0) return;
    var step = {ArrowRight: 1, ArrowLeft: -1, ArrowDown: columns(), ArrowUp: -columns()}[event.key];
    if (step) {
      var next = boxes[Math.min(Math.max(i + step, 0), boxes.length - 1)];
      next.focus();
      event.preventDefault();
    } else if (event.key === "Enter") {
      var link = event.target.closest("li").querySelector("[data-photo-link]");
      if (link) window.location.href = link.href;
      event.preventDefault();  // never submit the bulk form by accident
    }
  });
  grid.addEventListener("change", updateCount);
  if (selectPage) {
    selectPage.addEventListener("change", function () {
      boxes.forEach(function (b) { b.checked = selectPage.checked; });
      updateCount();
    });
  }
  form.addEventListener("submit", function (event) {
    var action = form.querySelector("[name=action]");
    var all = matching && matching.checked;
    var n = all ? Number(form.dataset.matching) : boxes.filter(function (b) { return b.checked; }).length;
    if (action && action.value === "delete" && !window.confirm("Delete " + n + " photos? This cannot be undone.")) {
      event.preventDefault();
    }
  });
  updateCount();
})();
