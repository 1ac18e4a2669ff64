/* The Label page (templates/labelling/label.html): a keyboard-first grid of the dataset's unlabelled photos.
   Arrows move, space selects, shift extends the selection; 1-9 give the numbered class to the selected photos
   (or the highlighted one), letters filter the classes (Enter gives the first match); Enter without a filter
   accepts the suggestion; "-" skips, "0" sets aside (none of these classes), "+" makes a new class; Ctrl+Z or
   Backspace undoes. Labels are posted at once (the server labels only photos still unlabelled, and says which
   others labelled meanwhile); the suggester's state is polled (poll.js), and when a newer run's suggestions
   arrive the grid reloads. Viewers see the grid without the keys that change anything. */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("label-config").textContent);
  var grid = document.getElementById("label-grid");
  var filterInput = document.getElementById("class-filter");
  var state = {
    view: "next", label: "", page: 1, pages: 1, total: 0, photos: [], focus: 0, anchor: null,
    selected: {}, skipped: {}, undo: [], status: JSON.parse(document.getElementById("label-status").textContent),
    shownRun: null, busy: false
  };
  state.shownRun = state.status.shown ? state.status.shown.id : null;

  function $(id) { return document.getElementById(id); }

  function text(id, value) { var el = $(id); if (el) el.textContent = value; }

  function say(message, bad) {
    var el = $("label-message");
    if (!el) return;
    el.textContent = message;
    el.className = bad ? "error" : "";
  }

  // --- talking to the server ------------------------------------------------------------------------------

  function csrfToken() {
    var input = document.querySelector("#label-csrf input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function post(url, fields) {
    var body = new FormData();
    Object.keys(fields).forEach(function (name) {
      [].concat(fields[name]).forEach(function (value) { body.append(name, value); });
    });
    return fetch(url, { method: "POST", body: body, credentials: "same-origin",
                        headers: { Accept: "application/json", "X-CSRFToken": csrfToken() } })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (data) {
          if (!response.ok || data.ok === false) {
            throw new Error(data.error || "The change was refused (" + response.status + ").");
          }
          return data;
        });
      });
  }

  function getJson(url) {
    return fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.json(); });
  }

  // --- classes --------------------------------------------------------------------------------------------

  function filterText() { return filterInput ? filterInput.value.trim().toLowerCase() : ""; }

  function shownClasses() {  // the classes the keys 1-9 address: those matching the filter, prefix matches first
    var f = filterText(), classes = state.status.classes;
    if (!f) return classes;
    var starts = classes.filter(function (c) { return c.name.toLowerCase().indexOf(f) === 0; });
    var inside = classes.filter(function (c) {
      return c.name.toLowerCase().indexOf(f) > 0;
    });
    return starts.concat(inside);
  }

  function renderClasses() {
    var list = $("class-keys");
    list.textContent = "";
    var need = state.status.min_labels;
    shownClasses().forEach(function (c, i) {
      var li = document.createElement("li");
      li.setAttribute("data-class-id", c.id);
      if (i < 9) {
        var kbd = document.createElement("kbd");
        kbd.textContent = String(i + 1);
        li.appendChild(kbd);
        li.appendChild(document.createTextNode(" "));
      }
      var name = document.createElement("span");
      name.className = "class-name";
      name.textContent = c.name;
      li.appendChild(name);
      li.appendChild(document.createTextNode(" (" + c.count + ")"));
      if (c.count < need) li.className = "needs-labels";
      if (config.can_label) {
        li.addEventListener("click", function () { assign({ label: c.id }); });
      }
      list.appendChild(li);
    });
    if (filterText() && !shownClasses().length) {
      var none = document.createElement("li");
      none.className = "muted";
      none.textContent = "No class matches: + or Enter makes \u201c" + filterInput.value.trim() + "\u201d";
      list.appendChild(none);
    }
    var select = $("suggested-class"), chosen = select.value;
    select.textContent = "";
    var any = document.createElement("option");
    any.value = "";
    any.textContent = "any class";
    select.appendChild(any);
    state.status.classes.forEach(function (c) {
      var option = document.createElement("option");
      option.value = String(c.id);
      option.textContent = c.name;
      select.appendChild(option);
    });
    select.value = chosen;
  }

  function renderStatus() {
    var s = state.status, latest = s.latest, shown = s.shown, parts = [];
    text("pool-count", String(s.pool));
    var lacking = s.classes.filter(function (c) { return c.count < s.min_labels; });
    if (!s.classes.length) parts.push("No classes yet: make one with + (a new class).");
    else if (lacking.length) {
      parts.push("Suggestions start once every class has " + s.min_labels + " labels (still short: " +
        lacking.map(function (c) { return c.name + " " + c.count + "/" + s.min_labels; }).join(", ") + ").");
    }
    if (latest && !latest.finished) {
      parts.push(latest.status === "queued" ? "The suggester is queued\u2026" :
        "The suggester is learning from " + (latest.progress_total ? "the photos' features (" +
          latest.progress_done + "/" + latest.progress_total + ")" : "the labels") + "\u2026");
    } else if (latest && latest.status === "failed") {
      parts.push("The suggester failed: " + latest.error_message);
    }
    if (shown) {
      parts.push(shown.suggested ? "Suggestions from " + shown.label_count + " labels." :
        "Showing the photos that best cover the pool (the most typical of each cluster).");
    }
    text("suggester-status", parts.join(" "));
    var retry = $("suggester-retry");
    if (retry) retry.hidden = !(latest && latest.status === "failed");
    var bulk = $("bulk-accept");
    if (bulk) bulk.hidden = !(shown && shown.suggested);
    renderClasses();
  }

  // --- the grid -------------------------------------------------------------------------------------------

  function gridUrl() {
    var q = "?view=" + encodeURIComponent(state.view) + "&page=" + state.page;
    if (state.view === "suggested" && state.label) q += "&label=" + encodeURIComponent(state.label);
    return config.urls.photos + q;
  }

  var gridRequests = 0;

  function loadGrid(keepFocus) {
    var request = ++gridRequests, view = state.view, run = state.shownRun;
    return getJson(gridUrl()).then(function (data) {
      if (request !== gridRequests) return;  // an answer to an older question (another view, an older run)
      // the photo highlighted now, not when asked: a click or a key while the answer was on its way must keep
      // its photo (a label typed next goes to it)
      var focused = keepFocus && state.photos[state.focus] ? state.photos[state.focus].id : null;
      grid.setAttribute("data-view", view);  // what the grid shows (the browser test waits on them)
      grid.setAttribute("data-run", run === null ? "" : String(run));
      state.page = data.page;
      state.pages = data.pages;
      state.total = data.total;
      state.photos = data.photos.filter(function (p) { return !state.skipped[p.id]; });
      var again = state.photos.map(function (p) { return p.id; }).indexOf(focused);
      if (!keepFocus) state.focus = 0;
      else if (again >= 0) state.focus = again;  // the same photo stays highlighted when the order changes
      Object.keys(state.selected).forEach(function (id) {
        if (!state.photos.some(function (p) { return String(p.id) === id; })) delete state.selected[id];
      });
      renderGrid();
    });
  }

  function renderGrid() {
    grid.textContent = "";
    state.focus = Math.max(0, Math.min(state.focus, state.photos.length - 1));
    state.photos.forEach(function (photo, i) {
      var li = document.createElement("li");
      li.className = "photo" + (i === state.focus ? " current" : "") + (state.selected[photo.id] ? " selected" : "");
      li.setAttribute("data-id", photo.id);
      li.setAttribute("aria-selected", state.selected[photo.id] ? "true" : "false");
      var img = document.createElement("img");
      img.src = photo.thumb;
      img.alt = photo.name;
      img.loading = "lazy";
      li.appendChild(img);
      var caption = document.createElement("span");
      caption.className = "photo-caption";
      if (photo.suggestion) {
        caption.textContent = photo.suggestion.name + " " + photo.suggestion.confidence.toFixed(2);
        caption.setAttribute("data-suggestion", photo.suggestion.name);
        caption.title = "suggested: " + photo.suggestion.name;
      } else {
        caption.textContent = photo.name;
      }
      li.appendChild(caption);
      li.addEventListener("click", function (event) { click(i, event); });
      li.addEventListener("dblclick", function () {
        window.location.href = config.photo_url.replace(/\/0\/$/, "/" + photo.id + "/");
      });
      grid.appendChild(li);
    });
    var empty = $("grid-empty");
    empty.hidden = state.photos.length > 0;
    empty.textContent = "No photos here.";
    text("page-info", state.total ? "page " + state.page + " of " + state.pages + " (" + state.total + " photos)" : "");
    var n = Object.keys(state.selected).length;
    text("selection-info", n ? n + " selected" : "");
    updateExpected();
  }

  function scrollToFocus() {  // on the person's own moves only: a background reload never scrolls the page
    var current = grid.children[state.focus];
    if (current) current.scrollIntoView({ block: "nearest" });
  }

  function columns() {
    var items = grid.children;
    if (items.length < 2) return 1;
    var top = items[0].offsetTop, n = 0;
    while (n < items.length && items[n].offsetTop === top) n++;
    return Math.max(n, 1);
  }

  function selectRange(from, to) {
    var lo = Math.min(from, to), hi = Math.max(from, to);
    for (var i = lo; i <= hi; i++) state.selected[state.photos[i].id] = true;
  }

  function click(i, event) {
    if (event.shiftKey && state.anchor !== null) selectRange(state.anchor, i);
    else if (event.ctrlKey || event.metaKey) toggle(i);
    else state.anchor = i;
    state.focus = i;
    grid.focus({ preventScroll: true });
    renderGrid();
  }

  function toggle(i) {
    var id = state.photos[i] && state.photos[i].id;
    if (!id) return;
    if (state.selected[id]) delete state.selected[id]; else state.selected[id] = true;
    state.anchor = i;
  }

  function move(step, extend) {
    if (!state.photos.length) return;
    var next = Math.max(0, Math.min(state.photos.length - 1, state.focus + step));
    if (extend) {
      if (state.anchor === null) state.anchor = state.focus;
      selectRange(state.anchor, next);
    }
    state.focus = next;
    renderGrid();
    scrollToFocus();
  }

  function targets() {  // the selected photos in grid order, else the highlighted one
    var chosen = state.photos.filter(function (p) { return state.selected[p.id]; });
    if (!chosen.length && state.photos[state.focus]) chosen = [state.photos[state.focus]];
    return chosen;
  }

  function drop(ids) {  // photos that left the pool (labelled, set aside, skipped) leave the grid
    var gone = {};
    ids.forEach(function (id) { gone[id] = true; delete state.selected[id]; });
    state.photos = state.photos.filter(function (p) { return !gone[p.id]; });
    state.anchor = null;
    renderGrid();
    if (!state.photos.length && state.total > ids.length) loadGrid(false);
  }

  // --- actions --------------------------------------------------------------------------------------------

  function done(result, what) {
    var n = result.changed.length, message = what.replace("{n}", n + " photo" + (n === 1 ? "" : "s"));
    if (result.conflicts && result.conflicts.length) {
      message += "; " + result.conflicts.length + " had been labelled by someone else meanwhile (left as they are)";
    }
    say(message + ".");
    drop(result.changed.concat(result.conflicts || []));
    if (poller) poller.now();
  }

  function act(promise) {
    if (state.busy) return;
    state.busy = true;
    promise.catch(function (error) { say(error.message, true); })
      .then(function () { state.busy = false; });
  }

  function assign(choice) {  // choice: {label: id} or {new_label: name}
    var photos = targets();
    if (!config.can_label || !photos.length) return;
    var fields = { image: photos.map(function (p) { return p.id; }) };
    if (choice.label) fields.label = choice.label; else fields.new_label = choice.new_label;
    act(post(config.urls.assign, fields).then(function (result) {
      if (result.changed.length) state.undo.push({ groups: [{ label: result.label.id, ids: result.changed }] });
      clearFilter();
      done(result, "Labelled {n} as " + result.label.name);
    }));
  }

  function accept(photos) {
    photos = photos.filter(function (p) { return p.suggestion; });
    if (!config.can_label || !state.shownRun) return;
    if (!photos.length) { say("No suggestion for these photos yet.", true); return; }
    act(post(config.urls.accept, { run: state.shownRun, image: photos.map(function (p) { return p.id; }) })
      .then(function (result) { remember(result.changed, result.labels || {}); done(result, "Accepted {n}"); }));
  }

  function remember(changed, labelOf) {  // an undo entry for accepted photos ({id: label id}), grouped by class
    var groups = {};
    changed.forEach(function (id) {
      var label = labelOf[id];
      if (label) (groups[label] = groups[label] || []).push(id);
    });
    var list = Object.keys(groups).map(function (label) { return { label: label, ids: groups[label] }; });
    if (list.length) state.undo.push({ groups: list });
  }

  function acceptAbove() {
    var min = Number($("min-confidence").value);
    if (!state.shownRun || isNaN(min)) return;
    act(post(config.urls.accept, { run: state.shownRun, min_confidence: min }).then(function (result) {
      remember(result.changed, result.labels || {});
      done(result, "Accepted {n} at confidence \u2265 " + min.toFixed(2));
      loadGrid(false);
    }));
  }

  function setAside() {
    var photos = targets();
    if (!config.can_label || !photos.length) return;
    act(post(config.urls.aside, { image: photos.map(function (p) { return p.id; }) }).then(function (result) {
      if (result.changed.length) state.undo.push({ aside: result.changed });
      done(result, "Set aside {n} (none of these classes)");
    }));
  }

  function skip() {
    var photos = targets();
    photos.forEach(function (p) { state.skipped[p.id] = true; });
    say("Skipped " + photos.length + " for now.");
    drop(photos.map(function (p) { return p.id; }));
  }

  function newClass() {
    if (!config.can_label || !targets().length) return;
    var name = filterInput && filterInput.value.trim();
    if (!name) name = (window.prompt("New class name") || "").trim();
    if (name) assign({ new_label: name });
  }

  function undo() {
    var last = state.undo.pop();
    if (!config.can_label) return;
    if (!last) { say("Nothing to undo."); return; }
    var requests = last.aside ? [post(config.urls.undo, { image: last.aside, aside: "on" })]
      : last.groups.map(function (g) { return post(config.urls.undo, { image: g.ids, label: g.label }); });
    act(Promise.all(requests).then(function (results) {
      var n = results.reduce(function (sum, r) { return sum + r.changed.length; }, 0);
      var kept = results.reduce(function (sum, r) { return sum + r.conflicts.length; }, 0);
      say("Undone: " + n + " photo" + (n === 1 ? "" : "s") + " back in the pool" +
        (kept ? "; " + kept + " changed by someone else since (left as they are)" : "") + ".");
      if (poller) poller.now();
      return loadGrid(true);
    }));
  }

  function clearFilter() {
    if (filterInput && filterInput.value) { filterInput.value = ""; renderClasses(); }
  }

  function byNumber(n) {
    var c = shownClasses()[n - 1];
    if (c) assign({ label: c.id });
  }

  function enter() {
    if (filterText()) {
      var first = shownClasses()[0];
      if (first) assign({ label: first.id }); else newClass();
      return;
    }
    accept(targets());
  }

  // --- expected error of a bulk accept --------------------------------------------------------------------

  var expectedTimer = null;

  function updateExpected() {
    var out = $("expected-error"), input = $("min-confidence");
    if (!out || !input || !state.shownRun || !state.status.shown || !state.status.shown.suggested) return;
    clearTimeout(expectedTimer);
    expectedTimer = setTimeout(function () {
      var min = Number(input.value);
      if (isNaN(min) || min < 0 || min > 1) return;
      getJson(config.urls.expected + "?run=" + state.shownRun + "&min_confidence=" + min).then(function (e) {
        text("above-count", String(e.count || 0));
        if (e.error === null || e.error === undefined) {
          out.textContent = "No held-out photo was predicted that confidently: no expected error to show.";
        } else {
          out.textContent = "Expected error " + (100 * e.error).toFixed(1) + " % (about " +
            Math.round(e.error * e.count) + " of " + e.count + " wrong), measured on " + e.heldout +
            " labelled photos the suggester did not train on (cross-validated).";
        }
      });
    }, 150);
  }

  // --- keys -----------------------------------------------------------------------------------------------

  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|SELECT|TEXTAREA)$/.test(target.tagName));
  }

  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.metaKey) return;
    var inFilter = event.target === filterInput;
    if (typing(event.target) && !inFilter) return;
    var key = event.key, can = config.can_label;
    if (event.ctrlKey) {
      if (can && (key === "z" || key === "Z")) { event.preventDefault(); undo(); }
      return;
    }
    var steps = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: columns(), ArrowUp: -columns() };
    if (steps[key] && !(inFilter && (key === "ArrowLeft" || key === "ArrowRight"))) {
      event.preventDefault();
      move(steps[key], event.shiftKey);
    } else if (key === "PageDown" || key === "PageUp") {
      event.preventDefault();
      page(key === "PageDown" ? 1 : -1);
    } else if (key === "Escape") {
      clearFilter();
      state.selected = {};
      renderGrid();
      grid.focus();
    } else if (!can) {
      return;
    } else if (/^[1-9]$/.test(key)) {
      event.preventDefault();
      byNumber(Number(key));
    } else if (key === "Enter") {
      event.preventDefault();
      enter();
    } else if (inFilter) {
      return;  // letters, digits 0, -, + and Backspace edit the filter
    } else if (key === " ") {
      event.preventDefault();
      toggle(state.focus);
      renderGrid();
    } else if (key === "0") {
      event.preventDefault();
      setAside();
    } else if (key === "-") {
      event.preventDefault();
      skip();
    } else if (key === "+") {
      event.preventDefault();
      newClass();
    } else if (key === "Backspace") {
      event.preventDefault();
      undo();
    } else if (filterInput && key.length === 1 && /\S/.test(key)) {
      event.preventDefault();  // type to filter the classes
      filterInput.value += key;
      filterInput.focus();
      renderClasses();
    }
  });

  if (filterInput) {
    filterInput.addEventListener("input", renderClasses);
  }

  function page(step) {
    var next = Math.max(1, Math.min(state.pages, state.page + step));
    if (next === state.page) return;
    state.page = next;
    state.selected = {};
    loadGrid(false);
  }

  function on(id, handler) { var el = $(id); if (el) el.addEventListener("click", handler); }

  on("page-prev", function () { page(-1); });
  on("page-next", function () { page(1); });
  on("accept-selected", function () { accept(targets()); });
  on("skip", skip);
  on("none-of-these", setAside);
  on("new-class", newClass);
  on("undo", undo);
  on("accept-page", function () { accept(state.photos); });
  on("accept-above", acceptAbove);
  on("suggester-retry", function () { refresh(); });
  var minInput = $("min-confidence");
  if (minInput) minInput.addEventListener("input", updateExpected);
  Array.prototype.forEach.call(document.querySelectorAll("input[name=grid-view]"), function (radio) {
    radio.addEventListener("change", function () {
      state.view = radio.value;
      state.page = 1;
      state.selected = {};
      loadGrid(false);
    });
  });
  $("suggested-class").addEventListener("change", function () {
    state.label = this.value;
    document.querySelector("input[name=grid-view][value=suggested]").checked = true;
    state.view = "suggested";
    state.page = 1;
    loadGrid(false);
  });

  // --- the suggester's state, polled ---------------------------------------------------------------------

  var poller = null;

  function refresh() {  // a run for the photos and labels as they are now (the last one read others, or failed)
    post(config.urls.refresh, {}).then(function () { if (poller) poller.now(); })
      .catch(function (error) { say(error.message, true); });
  }

  function onStatus(status) {
    state.status = status;
    var shown = status.shown ? status.shown.id : null;
    if (shown !== state.shownRun) {  // a newer run's suggestions: the grid shows them
      state.shownRun = shown;
      loadGrid(true);
    }
    renderStatus();
    return false;
  }

  document.addEventListener("DOMContentLoaded", function () {
    renderStatus();
    loadGrid(false);
    grid.focus({ preventScroll: true });
    poller = window.MenageriePoll.start({ url: config.urls.status, onData: onStatus, min: 1000, max: 10000 });
    if (config.can_label && state.status.stale) refresh();
  });
})();
