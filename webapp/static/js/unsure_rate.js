/* The model page: the share of "unsure" predictions per day (Plotly), from the table's data in #unsure-data. */
(function () {
  "use strict";

  document.addEventListener("DOMContentLoaded", function () {
    var el = document.getElementById("unsure-chart");
    var data = document.getElementById("unsure-data");
    if (!el || !data || !window.Plotly) return;
    var rows = JSON.parse(data.textContent);
    var trace = {
      type: "scatter", mode: "lines+markers", name: "unsure rate", line: { color: "#c2410c" },
      x: rows.map(function (r) { return r.day; }),
      y: rows.map(function (r) { return r.rate; }),
      customdata: rows.map(function (r) { return [r.unsure, r.predictions]; }),
      hovertemplate: "%{x}: %{y:.0%} unsure (%{customdata[0]} of %{customdata[1]})<extra></extra>",
    };
    // Days, never times: one day of data once spread its axis over milliseconds ("23:59:59.999"). Up to two
    // weeks, one tick a day over the whole days shown; longer, Plotly spaces the ticks, still dates only.
    var DAY = 86400000;
    var first = Date.parse(rows[0].day), last = Date.parse(rows[rows.length - 1].day);
    var xaxis = { type: "date", tickformat: "%Y-%m-%d", hoverformat: "%Y-%m-%d" };
    if (last - first <= 14 * DAY) {
      xaxis.dtick = DAY;
      xaxis.tick0 = rows[0].day;
      xaxis.range = [first - DAY / 2, last + DAY / 2];
    }
    var layout = { height: 260, margin: { l: 56, r: 16, t: 16, b: 48 },
                   yaxis: { title: { text: "unsure" }, tickformat: ".0%", range: [0, 1.02] },
                   xaxis: xaxis };
    el.style.height = layout.height + "px";
    Plotly.react(el, [trace], layout, { displaylogo: false, responsive: true });
  });
})();
