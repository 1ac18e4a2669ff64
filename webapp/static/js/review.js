/* The review component (templates/core/_review.html): one item of the page highlighted at a time; j / k or the
   arrow keys move (across every review list of the page), the key shown on an item's button runs that action
   on it. The action is posted in the background (Accept: application/json): once done the item goes, its list's
   count drops and the next item is highlighted; a refusal is said in the item. Photo-level buttons stay plain
   forms (the page reloads). */
(function () {
  "use strict";

  var current = null;

  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|SELECT|TEXTAREA)$/.test(target.tagName));
  }

  function items() { return Array.prototype.slice.call(document.querySelectorAll("[data-review-item]")); }

  function highlight(item, scroll) {
    if (current) current.classList.remove("current");
    current = item || null;
    if (!current) return;
    current.classList.add("current");
    if (scroll) {
      current.focus({ preventScroll: true });
      current.scrollIntoView({ block: "nearest" });
    }
  }

  function move(step) {
    var all = items();
    if (!all.length) return;
    var i = all.indexOf(current);
    highlight(all[i < 0 ? 0 : Math.max(0, Math.min(all.length - 1, i + step))], true);
  }

  function done(item) {
    var all = items(), i = all.indexOf(item);
    var list = item.closest("[data-review]");
    var count = list && document.getElementById(list.getAttribute("data-review-count"));
    item.remove();
    if (count) count.textContent = String(Math.max(0, Number(count.textContent) - 1));
    if (list && !list.querySelector("[data-review-item]")) {
      var none = document.createElement("li");
      none.className = "muted";
      none.textContent = "None left.";
      list.appendChild(none);
    }
    var rest = items();
    highlight(rest[Math.min(i, rest.length - 1)], true);
  }

  function run(form) {
    var item = form.closest("[data-review-item]");
    var message = item.querySelector(".review-message");
    var buttons = item.querySelectorAll(".review-actions button");
    buttons.forEach(function (b) { b.disabled = true; });
    fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin",
                         headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (data) {
          if (!response.ok) throw new Error(data.error || "The change was refused (" + response.status + ").");
          done(item);
        });
      })
      .catch(function (error) {
        buttons.forEach(function (b) { b.disabled = false; });
        if (message) message.textContent = error.message;
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!document.querySelector("[data-review]")) return;
    document.addEventListener("submit", function (event) {
      var form = event.target;
      if (!form.hasAttribute("data-review-action") || !form.closest("[data-review-item]")) return;
      event.preventDefault();  // a photo's own action stays a plain post
      run(form);
    });
    document.addEventListener("click", function (event) {
      var item = event.target.closest && event.target.closest("[data-review-item]");
      if (item && item !== current) highlight(item, false);
    });
    document.addEventListener("keydown", function (event) {
      if (event.altKey || event.ctrlKey || event.metaKey || typing(event.target)) return;
      if (event.key === "j" || event.key === "ArrowDown") { event.preventDefault(); move(1); return; }
      if (event.key === "k" || event.key === "ArrowUp") { event.preventDefault(); move(-1); return; }
      if (!current || !document.contains(current)) return;
      var form = current.querySelector('[data-review-action="' + event.key.toLowerCase() + '"]');
      if (!form) return;
      event.preventDefault();
      run(form);
    });
    highlight(items()[0], false);
  });
})();
