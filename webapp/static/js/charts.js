/* Plotly figures shared by the pages. Plotly itself is loaded once per page from the installed package. */
(function () {
  "use strict";

  var COLORS = { train: "#0b5cad", val: "#c2410c", best: "#1a6b34" };
  var SERIES = ["#0b5cad", "#c2410c", "#1a6b34", "#7e22ce", "#a61b1b", "#0e7490", "#854d0e", "#be185d"];
  var CONFIG = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["lasso2d", "select2d"] };
  var FONT = { family: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", size: 13, color: "#1d232b" };

  /* Title top left, legend top right (never over the axis titles). */
  function baseLayout(title, yTitle, lastEpoch) {
    var xaxis = { title: { text: "epoch" }, range: [0.5, Math.max(lastEpoch || 1, 2) + 0.5], zeroline: false };
    if ((lastEpoch || 0) <= 15) xaxis.dtick = 1;
    return {
      title: { text: title, font: { size: 15 }, x: 0.02, xanchor: "left", y: 0.97 },
      font: FONT,
      margin: { l: 56, r: 16, t: 56, b: 48 },
      xaxis: xaxis,
      yaxis: { title: { text: yTitle }, rangemode: "tozero" },
      legend: { orientation: "h", x: 1, xanchor: "right", y: 1.02, yanchor: "bottom", font: { size: 12 } },
      height: 320,
      uirevision: "keep",
    };
  }

  /* The one place that makes chart text from user-given strings (class, dataset and job names): Plotly renders
     a subset of HTML in labels, legends and hovers (<a href> as a live link, <b> as bold, &amp; as "&"), so
     escape it; Plotly shows the escaped entities as the characters. Every chart below passes names through it. */
  function plotlyText(value) {
    return String(value).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  /* Plotly's responsive resize takes the container's height, so pin it to the figure's own height first
     (otherwise a window resize shrinks every chart to the container's min-height). */
  function draw(el, traces, layout) {
    el.style.height = layout.height + "px";
    return Plotly.react(el, traces, layout, CONFIG);
  }

  function lastEpoch(epochs) {
    return epochs.length ? epochs[epochs.length - 1].epoch : 1;
  }

  function values(epochs, key) {
    return epochs.map(function (e) { return e[key]; });
  }

  /* Training and validation curves of one metric, the best epoch marked by a dashed line and a star. */
  function curves(el, epochs, bestEpoch, metric) {
    var isAcc = metric === "accuracy";
    var x = values(epochs, "epoch");
    var traces = [
      { x: x, y: values(epochs, metric), name: "training", mode: "lines+markers", line: { color: COLORS.train } },
      { x: x, y: values(epochs, "val_" + metric), name: "validation", mode: "lines+markers",
        line: { color: COLORS.val, dash: "dot" } },
    ];
    var layout = baseLayout(isAcc ? "Accuracy" : "Loss", isAcc ? "accuracy" : "loss", lastEpoch(epochs));
    if (isAcc) { layout.yaxis.range = [0, 1.02]; layout.yaxis.rangemode = undefined; }
    layout.shapes = [];
    layout.annotations = [];
    var best = epochs.filter(function (e) { return e.epoch === bestEpoch; })[0];
    if (best) {
      var y = best["val_" + metric] != null ? best["val_" + metric] : best[metric];
      traces.push({ x: [best.epoch], y: [y], name: "best epoch (" + best.epoch + ")", mode: "markers",
        marker: { symbol: "star", size: 16, color: COLORS.best, line: { color: "#fff", width: 1 } } });
      layout.shapes.push({ type: "line", xref: "x", yref: "paper", x0: best.epoch, x1: best.epoch, y0: 0, y1: 1,
        line: { color: COLORS.best, width: 1.5, dash: "dash" } });
    }
    return draw(el, traces, layout);
  }

  /* Several jobs' curves overlaid: validation solid, training dotted, one colour per job. */
  function compare(el, jobs, metric) {
    var traces = [], last = 1;
    jobs.forEach(function (job, i) {
      last = Math.max(last, lastEpoch(job.epochs));
      var color = SERIES[i % SERIES.length];
      var x = values(job.epochs, "epoch");
      traces.push({ x: x, y: values(job.epochs, "val_" + metric), name: plotlyText(job.name) + " validation",
        mode: "lines+markers", line: { color: color }, legendgroup: String(job.id) });
      traces.push({ x: x, y: values(job.epochs, metric), name: plotlyText(job.name) + " training",
        mode: "lines", line: { color: color, dash: "dot" }, legendgroup: String(job.id) });
    });
    var layout = baseLayout(metric === "accuracy" ? "Accuracy" : "Loss", metric, last);
    var legendRows = Math.ceil(jobs.length);
    layout.margin.b = 64 + 20 * legendRows;
    layout.height = 300 + layout.margin.b;
    layout.legend = { orientation: "h", x: 0, yref: "container", y: 0.01, yanchor: "bottom", font: { size: 12 } };
    return draw(el, traces, layout);
  }

  /* Confusion matrix heatmap, first class on top; mode "normalized" (row shares) or "raw" (counts). A click's
     point.pointNumber is [true index, predicted index] into data.class_names. */
  function confusion(el, data, mode) {
    var names = data.class_names.map(plotlyText);
    var z = mode === "raw" ? data.confusion : data.confusion_normalized;
    var text = z.map(function (row) {
      return row.map(function (v) { return mode === "raw" ? String(v) : (v * 100).toFixed(0) + "%"; });
    });
    var n = names.length;
    var trace = {
      type: "heatmap", x: names, y: names, z: z, text: text, texttemplate: "%{text}",
      // white to mid blue: the dark text stays readable (contrast >= 4.5:1) on every cell
      colorscale: [[0, "#ffffff"], [0.5, "#b7d1ec"], [1, "#5b97d3"]], textfont: { color: "#1d232b", size: 14 },
      zmin: 0, zmax: mode === "raw" ? undefined : 1, xgap: 2, ygap: 2,
      hovertemplate: "true %{y}, predicted %{x}: %{text}<extra></extra>",
      colorbar: { title: { text: mode === "raw" ? "images" : "share" } },
    };
    var layout = {
      font: FONT, height: Math.max(320, 90 + 44 * n), margin: { l: 110, r: 20, t: 20, b: 100 },
      xaxis: { title: { text: "predicted" }, type: "category", side: "bottom", tickangle: n > 6 ? -40 : 0,
               showgrid: false },
      yaxis: { title: { text: "true" }, type: "category", autorange: "reversed", showgrid: false },
      plot_bgcolor: "#d6dbe1",
    };
    return draw(el, [trace], layout);
  }

  /* Reliability diagram: accuracy per confidence bin before and after temperature scaling, and the diagonal. */
  function reliability(el, data) {
    function series(curve, name, color) {
      return { type: "scatter", mode: "lines+markers", name: name, x: curve.confidence, y: curve.accuracy,
               text: curve.count.map(function (c) { return c + " photos"; }), line: { color: color },
               hovertemplate: "confidence %{x:.2f}, accuracy %{y:.2f} (%{text})<extra>" + name + "</extra>" };
    }
    var traces = [
      { type: "scatter", mode: "lines", name: "perfect", x: [0, 1], y: [0, 1], hoverinfo: "skip",
        line: { color: "#8a939e", dash: "dot" } },
      series(data.before, "before calibration", COLORS.val),
      series(data.after, "after calibration", COLORS.train),
    ];
    var layout = baseLayout("Reliability", "accuracy", 1);
    layout.xaxis = { title: { text: "confidence" }, range: [0, 1.02] };
    layout.yaxis = { title: { text: "accuracy" }, range: [0, 1.02] };
    return draw(el, traces, layout);
  }

  /* Per-class probabilities of one photo, the decision highlighted. */
  function probabilities(el, labels, probs, decision) {
    var trace = {
      type: "bar", orientation: "h", x: probs, y: labels.map(plotlyText),
      marker: { color: labels.map(function (l) { return l === decision ? COLORS.best : "#8aa6c1"; }) },
      text: probs.map(function (p) { return (p * 100).toFixed(1) + "%"; }), textposition: "auto",
      hovertemplate: "%{y}: %{text}<extra></extra>",
    };
    var layout = {
      font: FONT, height: Math.max(160, 50 + 26 * labels.length), margin: { l: 100, r: 16, t: 8, b: 36 },
      xaxis: { range: [0, 1], tickformat: ".0%" }, yaxis: { type: "category", autorange: "reversed" },
    };
    return draw(el, [trace], layout);
  }

  window.MenagerieCharts = {
    curves: curves, compare: compare, confusion: confusion, probabilities: probabilities, plotlyText: plotlyText,
    reliability: reliability,
  };
})();
