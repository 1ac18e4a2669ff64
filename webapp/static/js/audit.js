/* The audit page: class-balance chart (Plotly; class names through MenagerieCharts.plotlyText), and while an
   audit runs, poll its status and reload the page when it has finished. */
(function () {
  "use strict";

  var SPLITS = [["train", "#0b5cad"], ["validation", "#c2410c"], ["test", "#1a6b34"]];

  function classBalance(el, classes) {
    var names = classes.map(function (c) { return MenagerieCharts.plotlyText(c.name); });
    var traces = SPLITS.map(function (split) {
      return { type: "bar", name: split[0], x: names, marker: { color: split[1] },
               y: classes.map(function (c) { return c[split[0]]; }),
               hovertemplate: "%{x}: %{y} " + split[0] + " photos<extra></extra>" };
    });
    var layout = { barmode: "stack", height: 320, margin: { l: 56, r: 16, t: 24, b: 96 },
                   yaxis: { title: { text: "photos" } }, xaxis: { automargin: true },
                   legend: { orientation: "h", x: 1, xanchor: "right", y: 1.02, yanchor: "bottom" } };
    el.style.height = layout.height + "px";
    Plotly.react(el, traces, layout, { displaylogo: false, responsive: true });
  }

  function poll(status) {
    MenageriePoll.start({ url: status.getAttribute("data-status-url"), min: 1000, max: 3000, onData: function (data) {
      if (data.finished) { window.location.reload(); return true; }
      if (data.progress_total) {
        status.textContent = "Audit " + data.status + ": features " + data.progress_done + " / " + data.progress_total + "…";
      }
    } });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var chart = document.getElementById("class-balance");
    var data = document.getElementById("class-balance-data");
    if (chart && data && window.Plotly) classBalance(chart, JSON.parse(data.textContent));
    var button = document.getElementById("audit-start");
    var status = document.getElementById("audit-status");
    if (button && button.disabled && status) poll(status);
  });
})();
