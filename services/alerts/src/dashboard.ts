/**
 * The live dashboard: attributed revenue per channel for the chosen model, and the latest credited
 * conversions. Self-contained (no external assets), reads `/v1/stream` with the key given in the
 * URL fragment (`/#key=...`, never sent to the server in a URL) or typed in once.
 */
export const DASHBOARD_HTML = /* html */ `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Touchline · live attribution</title>
<style>
  :root { --bg:#0f1419; --panel:#171d24; --text:#e6edf3; --muted:#8b98a5; --accent:#4cc38a; --bar:#3b82f6; }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.4 system-ui, -apple-system, Segoe UI, sans-serif; background:var(--bg); color:var(--text); }
  header { display:flex; align-items:center; gap:16px; padding:14px 20px; border-bottom:1px solid #253040; }
  header h1 { font-size:18px; margin:0; font-weight:600; }
  #status { font-size:12px; color:var(--muted); }
  #status.live { color:var(--accent); }
  main { display:grid; grid-template-columns: 2fr 1fr; gap:16px; padding:16px 20px; }
  section { background:var(--panel); border-radius:8px; padding:14px 16px; }
  h2 { font-size:13px; text-transform:uppercase; letter-spacing:.06em; color:var(--muted); margin:0 0 12px; }
  .row { display:grid; grid-template-columns: 150px 1fr 110px 70px; align-items:center; gap:10px; margin:6px 0; }
  .bar { height:16px; background:var(--bar); border-radius:3px; min-width:2px; transition:width .3s; }
  .num { text-align:right; font-variant-numeric: tabular-nums; }
  .muted { color:var(--muted); }
  #feed { list-style:none; margin:0; padding:0; max-height:70vh; overflow:auto; }
  #feed li { padding:6px 0; border-bottom:1px solid #222c38; font-size:13px; }
  select, input, button { background:#0f1419; color:var(--text); border:1px solid #2d3a4a; border-radius:4px; padding:4px 8px; }
  #login { padding:40px; }
</style>
</head>
<body>
<header>
  <h1>Touchline</h1>
  <label>model <select id="model"></select></label>
  <span id="total" class="muted"></span>
  <span id="status">connecting…</span>
</header>
<div id="login" hidden>
  <p>Enter a read or admin key to watch live attribution.</p>
  <input id="key" type="password" size="40" placeholder="key"> <button id="go">Connect</button>
</div>
<main id="app">
  <section>
    <h2>Attributed revenue by channel</h2>
    <div id="channels" data-testid="channels"><p class="muted">waiting for credit…</p></div>
  </section>
  <section>
    <h2>Latest credited conversions</h2>
    <ul id="feed" data-testid="feed"></ul>
  </section>
</main>
<script>
(() => {
  const state = { model: localStorage.getItem('touchline.model') || 'linear', metrics: {}, retry: 500 };
  const el = (id) => document.getElementById(id);
  const fmt = (n) => n.toLocaleString(undefined, { maximumFractionDigits: 2 });
  const hashKey = new URLSearchParams(location.hash.slice(1)).get('key');
  if (hashKey) { localStorage.setItem('touchline.key', hashKey); history.replaceState(null, '', location.pathname); }
  const key = localStorage.getItem('touchline.key');
  if (!key) {
    el('login').hidden = false; el('app').hidden = true;
    el('go').onclick = () => { localStorage.setItem('touchline.key', el('key').value); location.reload(); };
    return;
  }
  el('model').onchange = (e) => { state.model = e.target.value; localStorage.setItem('touchline.model', state.model); render(); };
  function render() {
    const models = Object.keys(state.metrics).sort();
    const sel = el('model');
    if (sel.options.length !== models.length) {
      sel.innerHTML = models.map((m) => '<option>' + m + '</option>').join('');
    }
    if (models.length && !models.includes(state.model)) state.model = models[0];
    sel.value = state.model;
    const rows = state.metrics[state.model] || [];
    const max = Math.max(1, ...rows.map((r) => r.revenue));
    const total = rows.reduce((s, r) => s + r.revenue, 0);
    el('total').textContent = rows.length ? 'total ' + fmt(total) : '';
    el('channels').innerHTML = rows.length ? rows.map((r) =>
      '<div class="row" data-channel="' + r.channel + '"><span>' + r.channel + '</span>' +
      '<div class="bar" style="width:' + (100 * r.revenue / max).toFixed(1) + '%"></div>' +
      '<span class="num">' + fmt(r.revenue) + '</span><span class="num muted">' + fmt(r.conversions) + '</span></div>').join('')
      : '<p class="muted">waiting for credit…</p>';
  }
  function connect() {
    const proto = location.protocol === 'https:' ? 'wss' : 'ws';
    const ws = new WebSocket(proto + '://' + location.host + '/v1/stream?token=' + encodeURIComponent(key));
    ws.onopen = () => {
      state.retry = 500;
      el('status').textContent = 'live'; el('status').className = 'live';
      ws.send(JSON.stringify({ type: 'subscribe', channels: ['metrics', 'credits', 'alerts', 'suggestions', 'fraud'] }));
    };
    ws.onmessage = (ev) => {
      const m = JSON.parse(ev.data);
      if (m.channel === 'metrics' && m.type === 'revenue_by_channel') { state.metrics[m.data.model] = m.data.channels; render(); }
      else if (m.channel === 'credits' && m.data.model === state.model) {
        const li = document.createElement('li');
        const top = m.data.shares.slice().sort((a, b) => b.weight - a.weight)[0];
        li.textContent = m.data.conversionName + ' ' + fmt(m.data.conversionValue) + ' ' + m.data.currency + ' · ' + m.data.shares.length + ' touches · top ' + (top ? top.channel : '-');
        el('feed').prepend(li);
        while (el('feed').children.length > 50) el('feed').lastChild.remove();
      }
    };
    ws.onclose = (ev) => {
      el('status').textContent = ev.code === 1006 && ev.reason === '' ? 'reconnecting…' : 'disconnected: ' + (ev.reason || ev.code);
      el('status').className = '';
      setTimeout(connect, state.retry); state.retry = Math.min(state.retry * 2, 10000);
    };
  }
  connect();
})();
</script>
</body>
</html>
`;
