/* Grad-CAM heatmaps on demand (predict page and the job page's misclassified gallery). A button
   `data-heatmap-url` (the heatmap's JSON endpoint) and `data-heatmap-for` (the id of the <img> to swap) asks the
   server for the heatmap (POST), then polls it (GET, adaptive interval) until the predict worker has stored it;
   the button then toggles the photo between the original and the overlay. */
(function () {
  "use strict";

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

  /* The answer to the POST or to a poll: done, failed, or still computing (true: stop asking). */
  function handle(button, img, heatmap) {
    if (heatmap.status === "succeeded") {
      delete button.dataset.busy;
      button.dataset.overlay = heatmap.url;
      say(button, "Heatmap for " + heatmap.label + ": red is where the model found the most evidence.");
      show(button, img, true);
      return true;
    }
    if (heatmap.status === "failed" || heatmap.error) {
      delete button.dataset.busy;
      say(button, heatmap.error || "The heatmap could not be computed.");
      return true;
    }
    return false;
  }

  function ask(button, img) {
    var headers = { Accept: "application/json", "X-CSRFToken": csrfToken() };
    fetch(button.dataset.heatmapUrl, { method: "POST", headers: headers, credentials: "same-origin" })
      .then(function (response) { if (!response.ok && response.status !== 409) throw new Error(response.status);
        return response.json(); })
      .then(function (heatmap) {
        if (handle(button, img, heatmap)) return;
        MenageriePoll.start({ url: button.dataset.heatmapUrl, min: 300, max: 3000, error: 5000,
                              onData: function (answer) { return handle(button, img, answer); } });
      })
      .catch(function () {
        delete button.dataset.busy;
        say(button, "The server did not answer: try again.");
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
    ask(button, img);
  });
})();
