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
    var layout = { height: 260, margin: { l: 56, r: 16, t: 16, b: 48 },
                   yaxis: { title: { text: "unsure" }, tickformat: ".0%", range: [0, 1.02] },
                   xaxis: { type: "date" } };
    el.style.height = layout.height + "px";
    Plotly.react(el, [trace], layout, { displaylogo: false, responsive: true });
  });
})();
