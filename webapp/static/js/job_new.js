/* New job form: refresh the estimate (extraction work, memory) when the dataset or settings change. */
(function () {
  "use strict";
  var form = document.querySelector(".job-form");
  var out = document.getElementById("estimate");
  var memory = document.getElementById("memory-estimate");
  var time = document.getElementById("time-estimate");
  if (!form || !out) return;
  var names = ["dataset", "recipe", "backbone", "weights", "pooling", "precision", "input_size", "hidden", "optimizer",
               "batch_size", "epochs"];
  var pending = null;

  function update() {
    var params = new URLSearchParams();
    function element(tag, text) {
    var el = document.createElement(tag);
    el.textContent = text;
    return el;
  }

  names.forEach(function (name) {
      var field = form.elements[name];
      if (field && field.value !== "") params.set(name, field.value);
    });
    if (!params.get("dataset")) { out.textContent = "Choose a dataset to see the estimated extraction work."; return; }
    if (pending) pending.abort();
    pending = new AbortController();
    fetch(out.dataset.url + "?" + params.toString(), { headers: { Accept: "application/json" }, signal: pending.signal })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) return;
        out.replaceChildren();
        out.append("Estimated extraction work: ");
        var strong = document.createElement("strong");
        strong.textContent = String(data.uncached);
        out.append(strong, " of " + data.total + " images " + (data.uncached === 0
          ? "(all features already cached)."
          : "to run through the backbone (" + data.cached + " already cached)."));
        if (time) time.textContent = data.time.text;
        if (memory) {
          memory.replaceChildren();
          memory.classList.toggle("error", !data.memory.fits);
          memory.append("Estimated memory: ");
          memory.append(element("strong", data.memory.text), ".");
          if (!data.memory.fits) memory.append(" " + data.memory.message);
        }
      })
      .catch(function () { /* aborted or offline: keep the last estimate */ });
  }

  function element(tag, text) {
    var el = document.createElement(tag);
    el.textContent = text;
    return el;
  }

  /* The head settings and pooling belong to the recipes with a fixed head (the article's): shown only for them. */
  // (getAttribute: on a form, .dataset is its field named "dataset")
  var fixedHead = (form.getAttribute("data-fixed-head-recipes") || "").split(" ");
  function showRecipeFields() {
    var recipe = form.elements.recipe ? form.elements.recipe.value : "";
    form.querySelectorAll("[data-fixed-head-only]").forEach(function (el) {
      el.hidden = fixedHead.indexOf(recipe) < 0;
    });
  }

  names.forEach(function (name) {
    var field = form.elements[name];
    if (field) field.addEventListener("change", update);
  });
  if (form.elements.recipe) form.elements.recipe.addEventListener("change", showRecipeFields);
  showRecipeFields();
})();
