/* The batch page: polls the batch's status (progress, counts) until it has finished, then reloads once to show
   the CSV link and the evaluation; draws the confusion matrix (MenagerieCharts) with its raw/normalised toggle. */
(function () {
  "use strict";

  function readJson(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  var config = readJson("batch-page-config");

  function render(status) {
    var statusEl = document.getElementById("batch-status");
    statusEl.textContent = status.status_display;
    statusEl.className = "status " + status.status;
    var progress = document.getElementById("batch-progress");
    progress.value = status.percent;
    progress.textContent = status.percent + "%";
    document.getElementById("batch-progress-text").textContent =
      status.progress.done + " / " + status.progress.total + " (" + status.percent + "%)";
    document.getElementById("batch-cancel-note").hidden = !status.cancel_requested || status.finished;
  }

  if (config && !config.finished) {
    MenageriePoll.start({ url: config.status_url, min: 1000, max: 5000, onData: function (status) {
      render(status);
      if (status.finished) { window.location.reload(); return true; }
    } });
  }

  var confusionData = readJson("confusion-data");
  var chart = document.getElementById("confusion-chart");
  if (confusionData && chart) {
    var draw = function (mode) {
      document.querySelectorAll("[data-confusion-mode]").forEach(function (button) {
        button.setAttribute("aria-pressed", String(button.dataset.confusionMode === mode));
      });
      MenagerieCharts.confusion(chart, confusionData, mode);
    };
    document.querySelectorAll("[data-confusion-mode]").forEach(function (button) {
      button.addEventListener("click", function () { draw(button.dataset.confusionMode); });
    });
    draw("normalized");
  }
})();
