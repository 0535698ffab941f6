// The read-only trace page served at /debug/events/ui: one self-contained HTML document (no external assets).
// Every value from the trace is inserted with textContent, never as HTML.
export const TRACE_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Herald live trace</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1rem; color: #222; }
h1 { font-size: 1.2rem; margin: 0 0 .5rem; }
form { display: flex; gap: .5rem; flex-wrap: wrap; margin-bottom: .75rem; }
input { padding: .25rem .4rem; min-width: 14rem; }
.event { border: 1px solid #ccc; border-radius: 4px; padding: .5rem .75rem; margin: .5rem 0; }
.event.duplicate { background: #f6f6f6; color: #555; }
.head { font-weight: 600; }
.meta { color: #666; font-size: 12px; }
.msg { white-space: pre-wrap; margin: .25rem 0; }
ul { margin: .25rem 0; padding-left: 1.25rem; }
.ok { color: #176b1b; } .no { color: #8a1c1c; } .wait { color: #8a6d00; }
#status { color: #666; font-size: 12px; }
</style>
</head>
<body>
<h1>Herald live trace</h1>
<form id="filters" onsubmit="return false">
<input id="object" name="object" placeholder="object (Kind/namespace/name)" aria-label="object filter">
<input id="alert" name="alert" placeholder="Alert (namespace/name)" aria-label="Alert filter">
<input id="provider" name="provider" placeholder="Provider (namespace/name or type)" aria-label="Provider filter">
<label><input type="checkbox" id="live" checked> refresh every 2 s</label>
</form>
<div id="status">loading…</div>
<div id="events"></div>
<script>
(function () {
  var list = document.getElementById('events');
  var status = document.getElementById('status');
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function render(data) {
    list.replaceChildren();
    status.textContent = data.events.length + ' event(s) shown; the last ' + data.capacity + ' are kept; updated ' + new Date().toLocaleTimeString();
    data.events.forEach(function (r) {
      var box = el('div', 'event ' + r.dedup);
      box.dataset.seq = String(r.seq);
      box.appendChild(el('div', 'head', r.object + '  [' + r.severity + '] ' + r.reason));
      box.appendChild(el('div', 'meta', '#' + r.seq + ' at ' + r.at + ' · dedup: ' + r.dedup));
      box.appendChild(el('div', 'msg', r.message));
      if (r.note) box.appendChild(el('div', 'meta', r.note));
      if (r.alerts.length) {
        var ul = el('ul');
        r.alerts.forEach(function (a) {
          var text = a.alert + ': ' + (a.matched ? 'matched (' + a.rule + ')' : 'not matched: ' + a.rule) + (a.outcome ? ' · ' + a.outcome : '');
          ul.appendChild(el('li', a.matched ? 'ok' : 'no', text));
        });
        if (r.alertsOmitted) ul.appendChild(el('li', 'meta', r.alertsOmitted + ' more Alert(s) not shown'));
        box.appendChild(ul);
      }
      if (r.deliveries.length) {
        var dl = el('ul');
        r.deliveries.forEach(function (d) {
          var cls = d.state === 'delivered' ? 'ok' : (d.state === 'failed' || d.state === 'dropped') ? 'no' : 'wait';
          var li = el('li', cls, 'delivery to ' + d.provider + ' (' + d.type + ') for ' + d.alert + ': ' + d.state + ', ' + d.attempts.length + (d.attemptsOmitted ? '+' + d.attemptsOmitted : '') + ' attempt(s)');
          if (d.attempts.length) {
            var al = el('ul');
            d.attempts.forEach(function (t) {
              al.appendChild(el('li', 'meta', 'attempt ' + t.attempt + ' at ' + t.at + ': ' + t.result + (t.error ? ': ' + t.error : '') + (t.delayMs !== undefined ? ' (next in ' + t.delayMs + ' ms)' : '')));
            });
            li.appendChild(al);
          }
          dl.appendChild(li);
        });
        box.appendChild(dl);
      }
      list.appendChild(box);
    });
  }
  var timer;
  function load() {
    var q = new URLSearchParams();
    ['object', 'alert', 'provider'].forEach(function (k) {
      var v = document.getElementById(k).value.trim();
      if (v) q.set(k, v);
    });
    q.set('limit', '200');
    fetch('/debug/events?' + q.toString(), { cache: 'no-store' })
      .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); })
      .then(render)
      .catch(function (e) { status.textContent = 'could not load the trace: ' + e.message; });
  }
  function schedule() {
    clearTimeout(timer);
    if (document.getElementById('live').checked) timer = setTimeout(function () { load(); schedule(); }, 2000);
  }
  document.getElementById('filters').addEventListener('input', function () { load(); schedule(); });
  load();
  schedule();
})();
</script>
</body>
</html>
`;
