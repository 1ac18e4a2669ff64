/* Export bundle page while a worker builds the bundle: poll its status (adaptive interval), show the step, and
   reload the page once it is ready or failed (the server renders the download link or the error). */
(function () {
  "use strict";

  var MIN_INTERVAL = 1000, MAX_INTERVAL = 5000, ERROR_INTERVAL = 5000;
  var section = document.getElementById("bundle");
  if (!section) return;

  function poll(interval) {
    fetch(section.dataset.statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { if (!response.ok) throw new Error(response.status); return response.json(); })
      .then(function (bundle) {
        if (bundle.status === "succeeded" || bundle.status === "failed" || bundle.status === "none") {
          window.location.reload();
          return;
        }
        var status = document.getElementById("bundle-status"), step = document.getElementById("bundle-step");
        if (status) { status.textContent = bundle.status_display; status.className = "status " + bundle.status; }
        if (step) step.textContent = bundle.step;
        setTimeout(function () { poll(Math.min(interval * 1.5, MAX_INTERVAL)); }, interval);
      })
      .catch(function () { setTimeout(function () { poll(ERROR_INTERVAL); }, ERROR_INTERVAL); });
  }

  setTimeout(function () { poll(MIN_INTERVAL); }, MIN_INTERVAL);
})();
