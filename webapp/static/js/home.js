/* Home page: poll the running and waiting jobs and the workers (slower while nothing changes, paused in a hidden
   tab) and redraw those two boxes. */
(function () {
  "use strict";

  var MIN_INTERVAL = 2000, MAX_INTERVAL = 15000, ERROR_INTERVAL = 30000;
  var config = JSON.parse(document.getElementById("home-config").textContent);
  var interval = MIN_INTERVAL, lastBody = null, timer = null;

  function element(tag, text, className) {
    var el = document.createElement(tag);
    if (text !== undefined) el.textContent = text;
    if (className) el.className = className;
    return el;
  }

  function jobRow(job) {
    var row = element("tr"), first = element("td"), link = element("a", "#" + job.id);
    link.href = job.url;
    first.append(link, " " + job.backbone + " on " + job.dataset);
    var status = element("td");
    status.append(element("span", job.status_display, "status " + job.status));
    row.append(first, status, element("td", job.percent + "%", "num"), element("td", job.by));
    return row;
  }

  function queueItem(queue) {
    var item = element("li");
    item.dataset.queue = queue.name;
    item.append(element("strong", queue.name), ": ");
    if (queue.workers.length) {
      item.append(queue.workers.length + " online (" + queue.workers.map(function (w) {
        return w.name + (w.ready ? "" : ", starting");
      }).join("; ") + ")");
    } else {
      item.append(element("span", "no worker online", "bad"));
    }
    item.append(" · " + (queue.waiting == null ? "queue length unknown (broker unreachable)" : queue.waiting + " waiting"));
    return item;
  }

  function render(live) {
    var body = document.querySelector("#home-live-jobs tbody");
    if (live.jobs.length) {
      body.replaceChildren.apply(body, live.jobs.map(jobRow));
    } else {
      var cell = element("td", "No job is running or waiting.", "muted");
      cell.colSpan = 4;
      var row = element("tr");
      row.append(cell);
      body.replaceChildren(row);
    }
    var queues = document.getElementById("home-queues");
    queues.replaceChildren.apply(queues, live.queues.map(queueItem));
  }

  function schedule(ms) {
    clearTimeout(timer);
    timer = setTimeout(poll, ms);
  }

  function poll() {
    if (document.hidden) return;  // resumed by visibilitychange
    fetch(config.status_url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.text();
      })
      .then(function (body) {
        interval = body === lastBody ? Math.min(interval * 1.5, MAX_INTERVAL) : MIN_INTERVAL;
        if (body !== lastBody) render(JSON.parse(body));
        lastBody = body;
        schedule(interval);
      })
      .catch(function () { schedule(ERROR_INTERVAL); });
  }

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) { interval = MIN_INTERVAL; schedule(0); }
  });
  schedule(MIN_INTERVAL);
})();
