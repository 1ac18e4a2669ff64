/* Job page: poll the status endpoint (adaptive interval), update progress and grow the curves with
   Plotly.react; once finished, reload to show the results. Confusion matrix clicks filter the gallery. */
(function () {
  "use strict";

  function readJson(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function formatSeconds(s) {
    if (s == null) return "–";
    s = Math.round(s);
    if (s < 60) return s + " s";
    var m = Math.floor(s / 60), h = Math.floor(m / 60);
    if (h) return h + " h " + String(m % 60).padStart(2, "0") + " min";
    return m + " min " + String(s % 60).padStart(2, "0") + " s";
  }

  function fmt(v, digits) { return v == null ? "–" : Number(v).toFixed(digits); }

  function setText(id, text) {
    var el = document.getElementById(id);
    if (el && el.textContent !== text) el.textContent = text;
  }

  var config = readJson("job-page-config");
  var state = readJson("job-status-data");
  var lastEpochsKey = null;

  function drawCurves(status) {
    var key = JSON.stringify([status.epochs, status.best_epoch]);
    if (key === lastEpochsKey) return;
    lastEpochsKey = key;
    var empty = document.getElementById("curves-empty");
    if (empty) empty.hidden = status.epochs.length > 0;
    var charts = document.getElementById("curves-charts");  // no empty boxes before the first epoch
    if (charts) charts.hidden = status.epochs.length === 0;
    if (!status.epochs.length) return;
    MenagerieCharts.curves(document.getElementById("accuracy-chart"), status.epochs, status.best_epoch, "accuracy");
    MenagerieCharts.curves(document.getElementById("loss-chart"), status.epochs, status.best_epoch, "loss");
    var body = document.querySelector("#epochs-table tbody");
    if (body) {
      body.replaceChildren.apply(body, status.epochs.map(function (e) {
        var tr = document.createElement("tr");
        var best = e.epoch === status.best_epoch;
        if (best) tr.className = "best";
        [e.epoch + (best ? " (best)" : ""), fmt(e.accuracy, 4), fmt(e.val_accuracy, 4), fmt(e.loss, 4),
          fmt(e.val_loss, 4), fmt(e.seconds, 1)].forEach(function (text, i) {
          var td = document.createElement("td");
          if (i) td.className = "num";
          td.textContent = text;
          tr.appendChild(td);
        });
        return tr;
      }));
    }
  }

  /* The tab says how the job stands (the server renders the same title once it has ended); when the job ends
     while the page is open, a desktop notification too if the user allowed them. */
  var baseTitle = "Job #" + state.id + " · Menagerie";
  function tabTitle(status) {
    return (status.finished ? status.status_display : status.percent + "% " + status.status_display.toLowerCase())
      + " · " + baseTitle;
  }

  function announceEnd(status) {
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    var accuracy = status.test_accuracy != null ? ", test accuracy " + (100 * status.test_accuracy).toFixed(1) + "%" : "";
    new Notification("Job #" + status.id + " " + status.status_display.toLowerCase(),
      { body: (status.error_message || "Finished" + accuracy), tag: "menagerie-job-" + status.id });
  }

  var notifyButton = document.getElementById("job-notify");
  if (notifyButton && "Notification" in window && Notification.permission === "default" && !state.finished) {
    notifyButton.hidden = false;
    notifyButton.addEventListener("click", function () {
      Notification.requestPermission().then(function () { notifyButton.hidden = true; });
    });
  }

  function render(status) {
    document.title = tabTitle(status);
    var statusEl = document.getElementById("job-status");
    statusEl.className = "status " + status.status;
    setText("job-status", status.status_display);
    var note = document.getElementById("job-cancel-note");
    if (note) note.hidden = !(status.cancel_requested && !status.finished);
    var progress = document.getElementById("job-progress");
    progress.value = status.percent;
    progress.textContent = status.percent + "%";
    setText("job-progress-label", status.progress_label +  // the stage or step's own units (selectors)
      (status.stage_detail && !status.finished ? ": " + status.stage_detail + "…" : ""));
    setText("job-progress-text", status.progress.done + " / " + status.progress.total + " (" + status.percent + "%)");
    var unit = " " + status.rate_unit;
    setText("job-rate", status.items_per_second != null && !status.finished ?
      (status.items_per_second >= 10 ? status.items_per_second.toFixed(0) : status.items_per_second.toFixed(2)) + unit
      : "–");
    setText("job-eta", status.finished ? "–" : formatSeconds(status.eta_seconds));
    setText("job-eta-basis", !status.finished && status.eta_basis ? "(from " + status.eta_basis + ")" : "");
    var took = status.finished && status.started_at && status.finished_at;
    document.getElementById("job-speed").hidden = status.finished;
    document.getElementById("job-took").hidden = !took;
    if (took) setText("job-duration", formatSeconds((Date.parse(status.finished_at) - Date.parse(status.started_at)) / 1000));
    setText("job-cached", String(status.images_cached));
    setText("job-extracted", String(status.images_extracted));
    var error = document.getElementById("job-error");
    error.hidden = !status.error_message;
    error.classList.toggle("error", status.status !== "not_kept");  // a follow-up not kept is an outcome
    setText("job-error", status.error_message || "");
    drawCurves(status);
    if (status.status !== "queued") {  // the "Job #N queued." banner is stale once a worker has it
      document.querySelectorAll(".message.job-queued").forEach(function (el) { el.hidden = true; });
    }
  }

  /* Polling (MenageriePoll): fast while something changes, slower while nothing does or the tab is hidden (its
     title still tells when the job ends). */
  function pollJob() {
    MenageriePoll.start({ url: config.status_url, min: 1000, max: 10000, error: 15000, hidden: 15000,
      onData: function (status) {
        state = status;
        render(status);
        if (!status.finished) return false;
        if (!config.finished) {
          announceEnd(status);
          window.location.reload();  // the results are rendered by the server
        }
        return true;
      } });
  }

  /* A re-evaluation (or the job's own) still running: reload once it has finished. */
  function pollEvaluation() {
    MenageriePoll.start({ url: config.evaluation_status_url, min: 2000, max: 5000, onData: function (evaluation) {
      if (evaluation.finished) { window.location.reload(); return true; }
    } });
  }

  /* Reliability diagram (calibration), when the evaluation has one. */
  var reliabilityData = readJson("reliability-data");
  var reliabilityEl = document.getElementById("reliability-chart");
  if (reliabilityData && reliabilityEl && reliabilityData.before) MenagerieCharts.reliability(reliabilityEl, reliabilityData);

  /* Confusion matrix and gallery filter. */
  var confusionData = readJson("confusion-data");
  var gallery = document.getElementById("gallery");
  var filterText = document.getElementById("gallery-filter");
  var resetButton = document.getElementById("gallery-reset");
  var allText = filterText ? filterText.textContent : "";
  var FILTER_KEY = "menagerie-gallery:" + location.pathname + location.search;

  function filterGallery(trueName, predicted) {
    var items = gallery.querySelectorAll(".gallery-item");
    var shown = 0;
    items.forEach(function (item) {
      // All: the mistakes; a cell: its photos (on the diagonal, the correctly classified ones).
      var match = trueName == null ? item.dataset.correct !== "1"
        : item.dataset.true === trueName && item.dataset.predicted === predicted;
      item.hidden = !match;
      if (match) shown += 1;
    });
    gallery.dataset.filter = trueName == null ? "" : trueName + "|" + predicted;
    try {  // a relabel or exclude from the gallery reloads the page: come back to the same cell
      if (trueName == null) sessionStorage.removeItem(FILTER_KEY);
      else sessionStorage.setItem(FILTER_KEY, JSON.stringify([trueName, predicted]));
    } catch (e) { /* storage disabled: the page opens on the mistakes */ }
    if (trueName == null) {
      filterText.textContent = allText;
      resetButton.hidden = true;
    } else {
      filterText.textContent = trueName === predicted
        ? "Showing " + shown + " correctly classified image" + (shown === 1 ? "" : "s") + " of class " +
          trueName + ", least confident first."
        : "Showing " + shown + " image" + (shown === 1 ? "" : "s") + " of class " + trueName +
          " predicted as " + predicted + ".";
      resetButton.hidden = false;
    }
  }

  function drawConfusion(mode) {
    var el = document.getElementById("confusion-chart");
    document.querySelectorAll("[data-confusion-mode]").forEach(function (button) {
      button.setAttribute("aria-pressed", String(button.dataset.confusionMode === mode));
    });
    return MenagerieCharts.confusion(el, confusionData, mode).then(function () {
      if (el.dataset.clickBound) return;
      el.dataset.clickBound = "1";
      el.on("plotly_click", function (event) {
        var point = event.points && event.points[0];  // its x and y are escaped: take the names by index
        if (point) filterGallery(confusionData.class_names[point.pointNumber[0]],
                                 confusionData.class_names[point.pointNumber[1]]);
      });
    });
  }

  function start() {
    if (window.Plotly === undefined || window.MenagerieCharts === undefined) return;
    render(state);
    if (confusionData && gallery) {
      drawConfusion("normalized");
      document.querySelectorAll("[data-confusion-mode]").forEach(function (button) {
        button.addEventListener("click", function () { drawConfusion(button.dataset.confusionMode); });
      });
      document.querySelectorAll("[data-filter-true]").forEach(function (button) {
        button.addEventListener("click", function () {
          filterGallery(button.dataset.filterTrue, button.dataset.filterPredicted);
          gallery.scrollIntoView({ behavior: "smooth", block: "start" });
        });
      });
      resetButton.addEventListener("click", function () { filterGallery(null, null); });
      var saved = null;
      try { saved = JSON.parse(sessionStorage.getItem(FILTER_KEY) || "null"); } catch (e) { saved = null; }
      if (saved && saved.length === 2) filterGallery(saved[0], saved[1]);
    }
    var trial = document.getElementById("trial-curves");  // drawn folded away: sized to the box once opened
    if (trial) {
      trial.addEventListener("toggle", function () {
        if (trial.open) trial.querySelectorAll(".chart").forEach(function (el) { Plotly.Plots.resize(el); });
      });
    }
    if (!config.finished) pollJob();
    if (config.evaluation_status_url) pollEvaluation();
  }

  start();
})();
