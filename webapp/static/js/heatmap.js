/* Grad-CAM heatmaps on demand (predict page and the job page's misclassified gallery). A button
   `data-heatmap-url` (the heatmap's JSON endpoint) and `data-heatmap-for` (the id of the <img> to swap) asks the
   server for the heatmap (POST), then polls it (GET, adaptive interval) until the predict worker has stored it;
   the button then toggles the photo between the original and the overlay. */
(function () {
  "use strict";

  var MIN_INTERVAL = 300, MAX_INTERVAL = 3000, ERROR_INTERVAL = 5000;

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function say(button, text) {
    var note = document.getElementById(button.id + "-note");
    if (note) note.textContent = text;
  }

  function show(button, img, overlay) {
    if (!img.dataset.original) img.dataset.original = img.src;
    img.src = overlay ? button.dataset.overlay : img.dataset.original;
    button.setAttribute("aria-pressed", overlay ? "true" : "false");
    button.textContent = overlay ? "Hide heatmap" : "Show heatmap";
  }

  function ask(button, img, method, interval) {
    var headers = { Accept: "application/json" };
    if (method === "POST") headers["X-CSRFToken"] = csrfToken();
    fetch(button.dataset.heatmapUrl, { method: method, headers: headers, credentials: "same-origin" })
      .then(function (response) { if (!response.ok && response.status !== 409) throw new Error(response.status);
        return response.json(); })
      .then(function (heatmap) {
        if (heatmap.status === "succeeded") {
          delete button.dataset.busy;
          button.dataset.overlay = heatmap.url;
          say(button, "Heatmap for " + heatmap.label + ": red is where the model found the most evidence.");
          show(button, img, true);
        } else if (heatmap.status === "failed" || heatmap.error) {
          delete button.dataset.busy;
          say(button, heatmap.error || "The heatmap could not be computed.");
        } else {
          setTimeout(function () { ask(button, img, "GET", Math.min(interval * 1.5, MAX_INTERVAL)); }, interval);
        }
      })
      .catch(function () {
        setTimeout(function () { ask(button, img, "GET", ERROR_INTERVAL); }, ERROR_INTERVAL);
      });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-heatmap-url]");
    if (!button) return;
    event.preventDefault();
    var img = document.getElementById(button.dataset.heatmapFor);
    if (!img) return;
    if (button.dataset.overlay) {
      show(button, img, button.getAttribute("aria-pressed") !== "true");
      return;
    }
    if (button.dataset.busy) return;
    button.dataset.busy = "1";
    say(button, "Computing the heatmap…");
    ask(button, img, "POST", MIN_INTERVAL);
  });
})();
