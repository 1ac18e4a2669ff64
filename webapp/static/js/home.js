/* Home page: poll the running and waiting jobs and the workers (MenageriePoll: slower while nothing changes) and redraw those two boxes. */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("home-config").textContent);

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

  MenageriePoll.start({ url: config.status_url, min: 2000, max: 15000, error: 30000, onData: function (live, changed) {
    if (changed) render(live);
  } });
})();
