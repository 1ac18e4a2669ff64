/* Predict page: drag-and-drop onto the photo picker with previews, and a probability chart per result. */
(function () {
  "use strict";

  var results = document.getElementById("prediction-data");
  if (results) {
    JSON.parse(results.textContent).forEach(function (item) {
      var el = document.getElementById("probabilities-" + item.id);
      if (el) MenagerieCharts.probabilities(el, item.labels, item.probabilities, item.decision);
    });
  }

  var zone = document.getElementById("dropzone");
  var input = document.getElementById("id_photos");
  var list = document.getElementById("selected-photos");
  if (!zone || !input) return;

  function showSelection() {
    list.replaceChildren();
    Array.prototype.forEach.call(input.files, function (file) {
      var li = document.createElement("li");
      if (file.type.indexOf("image/") === 0) {
        var img = document.createElement("img");
        img.src = URL.createObjectURL(file);
        img.alt = "Preview of " + file.name;
        img.onload = function () { URL.revokeObjectURL(img.src); };
        li.appendChild(img);
      }
      var name = document.createElement("span");
      name.textContent = file.name;
      li.appendChild(name);
      list.appendChild(li);
    });
    zone.classList.toggle("has-files", input.files.length > 0);
    var count = document.getElementById("selected-count");
    count.textContent = input.files.length ? input.files.length + " photo" + (input.files.length === 1 ? "" : "s") +
      " selected." : "";
  }

  ["dragenter", "dragover"].forEach(function (type) {
    zone.addEventListener(type, function (event) {
      event.preventDefault();
      zone.classList.add("dragging");
    });
  });
  ["dragleave", "dragend", "drop"].forEach(function (type) {
    zone.addEventListener(type, function () { zone.classList.remove("dragging"); });
  });
  zone.addEventListener("drop", function (event) {
    event.preventDefault();
    var files = event.dataTransfer && event.dataTransfer.files;
    if (!files || !files.length) return;
    var transfer = new DataTransfer();
    Array.prototype.forEach.call(files, function (file) {
      if (file.type.indexOf("image/") === 0) transfer.items.add(file);
    });
    input.files = transfer.files;
    showSelection();
  });
  input.addEventListener("change", showSelection);

  var form = zone.closest("form");
  form.addEventListener("submit", function () {
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    button.textContent = "Predicting…";
  });
})();
