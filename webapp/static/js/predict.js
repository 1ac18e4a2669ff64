/* Predict page: drag-and-drop onto the photo picker with previews, and a probability chart per result. The page
comes back before the worker has predicted: results still pending are polled from the status endpoint
(adaptive interval) and filled in as they arrive. */
(function () {
  "use strict";

  var results = document.getElementById("prediction-data");
  if (results) {
    JSON.parse(results.textContent).forEach(function (item) {
      var el = document.getElementById("probabilities-" + item.id);
      if (el) MenagerieCharts.probabilities(el, item.labels, item.probabilities, item.decision);
    });
  }

  var configEl = document.getElementById("predict-page-config");
  var config = configEl ? JSON.parse(configEl.textContent) : { pending: [] };
  var pending = config.pending.slice();

  function element(tag, className, text) {
    var el = document.createElement(tag);
    if (className) el.className = className;
    if (text !== undefined) el.textContent = text;
    return el;
  }

  function heatmapToggle(article, id) {
    /* the same "Show heatmap" button the template renders for a finished prediction (heatmap.js drives it) */
    var paragraph = element("p", "heatmap-toggle");
    var button = element("button", "secondary", "Show heatmap");
    button.type = "button";
    button.id = "prediction-heatmap-" + id;
    button.setAttribute("aria-pressed", "false");
    button.dataset.heatmapUrl = article.dataset.heatmapUrl;
    button.dataset.heatmapFor = article.querySelector("img").id;
    var note = element("span", "muted");
    note.id = button.id + "-note";
    note.setAttribute("aria-live", "polite");
    paragraph.append(button, " ", note);
    return paragraph;
  }

  function showResult(prediction) {
    var article = document.querySelector('[data-prediction-id="' + prediction.id + '"]');
    if (!article) return;
    var note = article.querySelector(".pending-note");
    var parts = [];
    if (prediction.status === "succeeded") {
      var unsure = prediction.decision === "unsure";
      var decision = element("p", unsure ? "decision unsure" : "decision", "Decision: ");
      if (unsure) {
        decision.append(element("strong", "", "unsure"), ": the model's confidence is below its threshold");
        if (prediction.unsure_reason) {
          decision.append(" (", element("span", "unsure-reason", prediction.unsure_reason), ")");
        }
        decision.append(". Best candidates: " + prediction.probabilities.slice(0, 3).map(function (p) {
            return p.label + " (" + p.probability.toFixed(3) + ")";
          }).join(", "));
      } else {
        decision.append(element("strong", "", prediction.label), " (" + prediction.confidence.toFixed(3) + ")");
      }
      var chart = element("div", "chart bars");
      chart.id = "probabilities-" + prediction.id;
      chart.setAttribute("role", "img");
      chart.setAttribute("aria-label", "Probability per class for " + prediction.file);
      var details = element("details");
      details.append(element("summary", "", "Probabilities as a table"));
      var table = element("table"), body = element("tbody");
      var head = element("thead"), headRow = element("tr");
      headRow.append(element("th", "", "Class"), element("th", "num", "Probability"));
      head.append(headRow);
      prediction.probabilities.forEach(function (p) {
        var row = element("tr");
        row.append(element("td", "", p.label), element("td", "num", p.probability.toFixed(4)));
        body.append(row);
      });
      table.append(head, body);
      details.append(table);
      parts = [decision, chart, details, heatmapToggle(article, prediction.id)];
    } else {
      var error = element("p", "message error", prediction.error || "The prediction did not finish.");
      error.setAttribute("role", "alert");
      parts = [error];
    }
    if (note) note.replaceWith.apply(note, parts);
    if (prediction.status === "succeeded") {
      MenagerieCharts.probabilities(document.getElementById("probabilities-" + prediction.id),
        prediction.probabilities.map(function (p) { return p.label; }),
        prediction.probabilities.map(function (p) { return p.probability; }), prediction.label);
    }
    var cell = document.querySelector('[data-decision-of="' + prediction.id + '"]');
    if (cell) {
      cell.textContent = prediction.status !== "succeeded" ? "Failed"
        : prediction.decision === "unsure" ? "unsure (" + prediction.label + "?)" : prediction.label;
    }
    var confidence = document.querySelector('[data-confidence-of="' + prediction.id + '"]');
    if (confidence && prediction.confidence !== null) confidence.textContent = prediction.confidence.toFixed(3);
  }

  if (pending.length) {
    MenageriePoll.start({ url: function () { return pending.length ? config.status_url + "?ids=" + pending.join(",") : null; },
      min: 250, max: 3000, error: 5000, onData: function (data) {
        data.predictions.forEach(function (prediction) {
          if (prediction.status === "pending") return;
          showResult(prediction);
          pending = pending.filter(function (id) { return id !== prediction.id; });
        });
        return pending.length === 0;
      } });
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
