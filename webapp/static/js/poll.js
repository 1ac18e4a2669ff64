/* One polling helper for every page that waits on a worker (job, evaluation, batch, audit, bundle, heatmap,
   predictions, home). It asks a JSON endpoint, hands each answer to the page, and adapts: the first wait and the
   wait after a change are `min`, each unchanged answer waits 1.5x longer up to `max`, a failed request waits
   `error`, a hidden tab waits at least `hidden` and is asked again at once when it shows. The page's
   <body data-poll-max-ms> (settings.POLL_MAX_MS) caps every wait, so tests need not sit out a back-off.

   MenageriePoll.start({ url, onData, min, max, error, hidden, immediate })
     url     a string, or a function returning the URL to ask now (the predict page asks for the ids still pending)
     onData  onData(data, changed): render; return true once finished, which stops the polling
   Returns { now(): ask at once, stop() }. */
(function () {
  "use strict";

  function start(options) {
    var min = options.min || 1000, max = options.max || min, error = options.error || max;
    var hidden = options.hidden || max;
    var cap = Number(document.body.dataset.pollMaxMs) || Infinity;
    var interval = min, lastBody = null, timer = null, stopped = false;

    function schedule(ms) {
      clearTimeout(timer);
      if (!stopped) timer = setTimeout(ask, Math.min(ms, cap));
    }

    function ask() {
      var url = typeof options.url === "function" ? options.url() : options.url;
      if (!url) { stopped = true; return; }
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.text();
        })
        .then(function (body) {
          var changed = body !== lastBody;
          lastBody = body;
          interval = changed ? min : Math.min(interval * 1.5, max);
          if (options.onData(JSON.parse(body), changed)) { stopped = true; return; }
          schedule(document.hidden ? Math.max(interval, hidden) : interval);
        })
        .catch(function () { schedule(error); });
    }

    document.addEventListener("visibilitychange", function () {
      if (!document.hidden && !stopped) { interval = min; schedule(0); }
    });
    schedule(options.immediate ? 0 : min);
    return {
      now: function () { interval = min; schedule(0); },
      stop: function () { stopped = true; clearTimeout(timer); }
    };
  }

  window.MenageriePoll = { start: start };
})();
