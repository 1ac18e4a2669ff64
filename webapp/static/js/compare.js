/* Compare page: the jobs' curves overlaid. */
(function () {
  "use strict";
  var jobs = JSON.parse(document.getElementById("compare-data").textContent);
  MenagerieCharts.compare(document.getElementById("compare-accuracy"), jobs, "accuracy");
  MenagerieCharts.compare(document.getElementById("compare-loss"), jobs, "loss");
})();
