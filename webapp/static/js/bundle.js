/* Export bundle page while a worker builds the bundle: poll its status (adaptive interval), show the step, and
   reload the page once it is ready or failed (the server renders the download link or the error). */
(function () {
  "use strict";

  var section = document.getElementById("bundle");
  if (!section) return;

  MenageriePoll.start({ url: section.dataset.statusUrl, min: 1000, max: 5000, onData: function (bundle) {
    if (bundle.status === "succeeded" || bundle.status === "failed" || bundle.status === "none") {
      window.location.reload();
      return true;
    }
    var status = document.getElementById("bundle-status"), step = document.getElementById("bundle-step");
    if (status) { status.textContent = bundle.status_display; status.className = "status " + bundle.status; }
    if (step) step.textContent = bundle.step;
  } });
})();
