/**
 * The live dashboard: ROI per channel as a chart (per model and window), the alert feed, budget
 * suggestions with their risk tier, fraud flags and the latest credited conversions.
 * Self-contained (no external assets). Reads `/v1/stream` with the key given in the URL fragment
 * (`/#key=...`, never sent to the server in a URL) or typed in once; resumes from the last id it
 * saw after a reconnect. Everything that comes from data is set as text, never parsed as HTML.
 */
export const DASHBOARD_HTML = /* html */ `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Touchline · live attribution</title>
<style>
  :root { --bg:#0f1419; --panel:#171d24; --line:#253040; --text:#e6edf3; --muted:#8b98a5; --good:#4cc38a; --bad:#f16a6a; --warn:#f5b74f; --info:#6aa8f1; --bar:#3b82f6; }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.4 system-ui, -apple-system, Segoe UI, sans-serif; background:var(--bg); color:var(--text); }
  header { display:flex; flex-wrap:wrap; align-items:center; gap:14px; padding:12px 20px; border-bottom:1px solid var(--line); }
  header h1 { font-size:18px; margin:0 8px 0 0; font-weight:600; }
  .kpi { display:flex; gap:16px; margin-left:auto; }
  .kpi div { display:flex; flex-direction:column; align-items:flex-end; }
  .kpi b { font-size:16px; font-variant-numeric: tabular-nums; }
  .kpi span, .muted { color:var(--muted); font-size:12px; }
  #status { font-size:12px; color:var(--muted); min-width:90px; text-align:right; }
  #status.live { color:var(--good); }
  main { display:grid; grid-template-columns: minmax(0,3fr) minmax(0,2fr); gap:14px; padding:14px 20px; }
  section { background:var(--panel); border-radius:8px; padding:12px 14px; min-width:0; }
  h2 { font-size:12px; text-transform:uppercase; letter-spacing:.06em; color:var(--muted); margin:0 0 10px; display:flex; justify-content:space-between; }
  svg text { fill:var(--text); font-size:12px; }
  svg .axis { stroke:#3a4655; }
  table { width:100%; border-collapse:collapse; font-size:12px; }
  th, td { padding:4px 6px; text-align:right; border-bottom:1px solid #222c38; font-variant-numeric: tabular-nums; }
  th:first-child, td:first-child { text-align:left; }
  th { color:var(--muted); font-weight:500; }
  ul { list-style:none; margin:0; padding:0; max-height:300px; overflow:auto; }
  li { padding:6px 0; border-bottom:1px solid #222c38; font-size:13px; }
  .badge { display:inline-block; font-size:11px; padding:1px 6px; border-radius:9px; margin-right:6px; color:#0f1419; font-weight:600; }
  .critical { background:var(--bad); } .warning { background:var(--warn); } .info { background:var(--info); }
  .low { background:var(--good); } .medium { background:var(--warn); } .high { background:#f08a4b; } .very_high { background:var(--bad); }
  .type { color:var(--muted); font-size:11px; margin-right:6px; }
  .time { color:var(--muted); font-size:11px; float:right; margin-left:8px; }
  select, input, button { background:#0f1419; color:var(--text); border:1px solid #2d3a4a; border-radius:4px; padding:4px 8px; }
  #login { padding:40px; }
  .wide { grid-column: 1 / -1; }
  @media (max-width: 900px) { main { grid-template-columns: 1fr; } }
</style>
</head>
<body>
<header>
  <h1>Touchline</h1>
  <label>model <select id="model" data-testid="model"></select></label>
  <label>window <select id="window" data-testid="window"><option value="1h">1 hour</option><option value="24h" selected>24 hours</option><option value="7d">7 days</option></select></label>
  <div class="kpi">
    <div><b id="k-revenue">–</b><span>attributed revenue</span></div>
    <div><b id="k-spend">–</b><span>spend</span></div>
    <div><b id="k-roi">–</b><span>ROI</span></div>
    <div><b id="k-conv">–</b><span>conversions</span></div>
  </div>
  <span id="status">connecting…</span>
</header>
<div id="login" hidden>
  <p>Enter a read or admin key to watch live attribution.</p>
  <input id="key" type="password" size="40" placeholder="key"> <button id="go">Connect</button>
</div>
<main id="app">
  <section>
    <h2><span>ROI by channel</span><span id="roi-note" class="muted"></span></h2>
    <svg id="roi-chart" data-testid="roi-chart" width="100%" height="40" role="img" aria-label="ROI by channel"></svg>
    <h2 style="margin-top:12px"><span>Portfolio ROI, live</span></h2>
    <svg id="roi-trend" data-testid="roi-trend" width="100%" height="90" role="img" aria-label="Portfolio ROI over time"></svg>
  </section>
  <section>
    <h2><span>Alerts</span><span id="alert-count" class="muted"></span></h2>
    <ul id="alerts" data-testid="alerts"><li class="muted">no alerts</li></ul>
  </section>
  <section>
    <h2><span>Channels</span></h2>
    <table data-testid="channels"><thead><tr><th>channel</th><th>conversions</th><th>revenue</th><th>spend</th><th>ROAS</th><th>CPA</th></tr></thead><tbody id="channels"></tbody></table>
  </section>
  <section id="experiments-section" hidden>
    <h2><span>Holdout experiments</span><span class="muted">lift, exposed vs held out</span></h2>
    <table data-testid="experiments"><thead><tr><th>experiment</th><th>exposed</th><th>held out</th><th>lift</th><th>incremental</th></tr></thead><tbody id="experiments"></tbody></table>
  </section>
  <section>
    <h2><span>Budget suggestions</span></h2>
    <ul id="suggestions" data-testid="suggestions"><li class="muted">none yet: suggestions need a few weeks of spend and conversions</li></ul>
  </section>
  <section>
    <h2><span>Fraud flags</span><span id="flag-count" class="muted"></span></h2>
    <ul id="fraud" data-testid="fraud"><li class="muted">no flagged touches</li></ul>
  </section>
  <section>
    <h2><span>Latest credited conversions</span></h2>
    <ul id="feed" data-testid="feed"></ul>
  </section>
</main>
<script>
(() => {
  const SVG = 'http://www.w3.org/2000/svg';
  const state = {
    model: localStorage.getItem('touchline.model') || 'linear',
    window: localStorage.getItem('touchline.window') || '24h',
    windows: {}, revenue: {}, trend: {}, lifts: {}, lastId: null, retry: 500, alerts: 0, flagged: 0, seen: new Set(),
  };
  const el = (id) => document.getElementById(id);
  const fmt = (n, d = 2) => n == null ? '–' : Number(n).toLocaleString(undefined, { maximumFractionDigits: d });
  const money = (n) => n == null ? '–' : Number(n).toLocaleString(undefined, { maximumFractionDigits: 0 });
  const node = (tag, text, cls) => { const n = document.createElement(tag); if (text != null) n.textContent = text; if (cls) n.className = cls; return n; };
  const svg = (tag, attrs, text) => { const n = document.createElementNS(SVG, tag); for (const k in attrs) n.setAttribute(k, attrs[k]); if (text != null) n.textContent = text; return n; };
  const time = (ms) => new Date(ms).toLocaleTimeString();

  const hashKey = new URLSearchParams(location.hash.slice(1)).get('key');
  if (hashKey) { localStorage.setItem('touchline.key', hashKey); history.replaceState(null, '', location.pathname); }
  const key = localStorage.getItem('touchline.key');
  if (!key) {
    el('login').hidden = false; el('app').hidden = true;
    el('go').onclick = () => { localStorage.setItem('touchline.key', el('key').value); location.reload(); };
    return;
  }
  el('model').onchange = (e) => { state.model = e.target.value; localStorage.setItem('touchline.model', state.model); render(); };
  el('window').value = state.window;
  el('window').onchange = (e) => { state.window = e.target.value; localStorage.setItem('touchline.window', state.window); render(); };

  function models() { return [...new Set([...Object.keys(state.windows), ...Object.keys(state.revenue)])].sort(); }

  function render() {
    const ms = models();
    const sel = el('model');
    if ([...sel.options].map((o) => o.value).join() !== ms.join()) {
      sel.replaceChildren(...ms.map((m) => { const o = node('option', m); o.value = m; return o; }));
    }
    if (ms.length && !ms.includes(state.model)) state.model = ms.includes('linear') ? 'linear' : ms[0];
    sel.value = state.model;
    const w = state.windows[state.model] && state.windows[state.model].windows[state.window];
    const rows = w ? w.channels : (state.revenue[state.model] || []).map((r) => ({ ...r, spend: 0, roi: null, roas: null, cpa: null }));
    const total = w ? w.total : null;
    el('k-revenue').textContent = total ? money(total.revenue) : '–';
    el('k-spend').textContent = total ? money(total.spend) : '–';
    el('k-roi').textContent = total && total.roi != null ? fmt(total.roi) : '–';
    el('k-conv').textContent = total ? fmt(total.conversions, 1) : '–';
    renderChart(rows);
    renderTrend();
    el('channels').replaceChildren(...rows.map((r) => {
      const tr = node('tr');
      tr.dataset.channel = r.channel;
      for (const v of [r.channel, fmt(r.conversions, 1), money(r.revenue), money(r.spend), fmt(r.roas), r.cpa == null ? '–' : money(r.cpa)]) tr.append(node('td', v));
      return tr;
    }));
  }

  function renderChart(rows) {
    const chart = el('roi-chart');
    const withSpend = rows.filter((r) => r.roi != null).sort((a, b) => b.roi - a.roi);
    const without = rows.filter((r) => r.roi == null);
    el('roi-note').textContent = without.length ? without.length + ' channel(s) without spend' : '';
    const width = chart.clientWidth || 600;
    const rowH = 24, label = 130, right = 60;
    chart.setAttribute('height', String(Math.max(40, withSpend.length * rowH + 24)));
    const items = [];
    if (!withSpend.length) {
      items.push(svg('text', { x: 0, y: 24, class: 'muted' }, rows.length ? 'no spend in this window: send cost events to see ROI' : 'waiting for credit…'));
    } else {
      const lo = Math.min(0, ...withSpend.map((r) => r.roi)), hi = Math.max(0, ...withSpend.map((r) => r.roi));
      const span = hi - lo || 1, plot = Math.max(50, width - label - right);
      const x = (v) => label + ((v - lo) / span) * plot;
      withSpend.forEach((r, i) => {
        const y = 8 + i * rowH;
        const g = svg('g', { 'data-channel': r.channel });
        g.append(svg('text', { x: 0, y: y + 13 }, r.channel.length > 18 ? r.channel.slice(0, 17) + '…' : r.channel));
        const x0 = x(0), x1 = x(r.roi);
        g.append(svg('rect', { x: Math.min(x0, x1), y, width: Math.max(2, Math.abs(x1 - x0)), height: rowH - 8, rx: 3, fill: r.roi >= 0 ? '#4cc38a' : '#f16a6a' }));
        g.append(svg('text', { x: Math.max(x0, x1) + 6, y: y + 13 }, fmt(r.roi)));
        items.push(g);
      });
      items.push(svg('line', { x1: x(0), x2: x(0), y1: 0, y2: withSpend.length * rowH + 8, class: 'axis' }));
    }
    chart.replaceChildren(...items);
  }

  function renderTrend() {
    const chart = el('roi-trend');
    const pts = state.trend[state.model + '|' + state.window] || [];
    const width = chart.clientWidth || 600, height = 90;
    if (pts.length < 2) { chart.replaceChildren(svg('text', { x: 0, y: 20, class: 'muted' }, pts.length ? 'ROI ' + fmt(pts[0].roi) : 'no spend yet')); return; }
    const t0 = pts[0].at, t1 = pts[pts.length - 1].at || t0 + 1;
    const lo = Math.min(...pts.map((p) => p.roi)), hi = Math.max(...pts.map((p) => p.roi));
    const span = hi - lo || 1;
    const d = pts.map((p, i) => (i ? 'L' : 'M') + (40 + ((p.at - t0) / (t1 - t0 || 1)) * (width - 50)).toFixed(1) + ',' + (10 + (1 - (p.roi - lo) / span) * (height - 25)).toFixed(1)).join(' ');
    chart.replaceChildren(
      svg('path', { d, fill: 'none', stroke: '#3b82f6', 'stroke-width': 2 }),
      svg('text', { x: 0, y: 14 }, fmt(hi)), svg('text', { x: 0, y: height - 8 }, fmt(lo)),
    );
  }

  function addAlert(m) {
    const a = m.data;
    if (state.seen.has(m.id)) return;
    state.seen.add(m.id);
    const list = el('alerts');
    if (!state.alerts++) list.replaceChildren();
    const li = node('li');
    li.dataset.type = a.type; li.dataset.signal = a.signal; li.dataset.id = m.id;
    li.append(node('span', a.severity, 'badge ' + a.severity), node('span', a.type.replace('_', ' ') + ' · ' + a.signal.replace('_', ' '), 'type'), node('span', time(a.at), 'time'));
    li.append(node('div', a.summary));
    list.prepend(li);
    while (list.children.length > 100) list.lastChild.remove();
    el('alert-count').textContent = String(state.alerts);
  }

  function addSuggestion(m) {
    const s = m.data;
    if (state.seen.has(m.id)) return;
    state.seen.add(m.id);
    const list = el('suggestions');
    if (list.querySelector('.muted')) list.replaceChildren();
    const li = node('li');
    li.dataset.tier = s.risk.tier;
    li.append(node('span', s.risk.tier.replace('_', ' ') + ' risk', 'badge ' + s.risk.tier), node('span', s.risk.action, 'type'), node('span', time(s.at), 'time'));
    li.append(node('div', s.summary));
    if (s.guardrails.length) li.append(node('div', 'guardrails: ' + s.guardrails.join('; '), 'muted'));
    list.prepend(li);
    while (list.children.length > 20) list.lastChild.remove();
  }

  function addFlag(m) {
    const f = m.data;
    if (state.seen.has(m.id)) return;
    state.seen.add(m.id);
    const list = el('fraud');
    if (!state.flagged) list.replaceChildren();
    state.flagged += f.touchpointIds.length;
    el('flag-count').textContent = state.flagged + ' touches';
    // Flags come one per person (the stitcher's partitioning); one burst shows as one line.
    const base = f.reason.replace(/ [(]quarantined[)]$/, '');
    const top = list.firstElementChild;
    if (top && top.dataset.reason === base && Math.abs(Number(top.dataset.at) - f.flaggedAt) < 300000) {
      top.dataset.count = String(Number(top.dataset.count) + f.touchpointIds.length);
      top.querySelector('.badge').textContent = top.dataset.count;
      return;
    }
    const li = node('li');
    li.dataset.reason = base; li.dataset.at = String(f.flaggedAt); li.dataset.count = String(f.touchpointIds.length);
    li.append(node('span', li.dataset.count, 'badge critical'), node('span', 'touches flagged', 'type'), node('span', time(f.flaggedAt), 'time'));
    li.append(node('div', base));
    list.prepend(li);
    while (list.children.length > 50) list.lastChild.remove();
  }

  function addCredit(m) {
    if (m.data.model !== state.model) return;
    const li = node('li');
    const top = m.data.shares.slice().sort((a, b) => b.weight - a.weight)[0];
    li.textContent = m.data.conversionName + ' ' + fmt(m.data.conversionValue) + ' ' + m.data.currency + ' · ' + m.data.shares.length + ' touches · top ' + (top ? top.channel : '-');
    el('feed').prepend(li);
    while (el('feed').children.length > 50) el('feed').lastChild.remove();
  }

  function renderLifts() {
    const pct = (x) => (x * 100).toLocaleString(undefined, { maximumFractionDigits: 2 }) + '%';
    const rate = (a) => a.units ? pct(a.conversions / a.units) + ' of ' + fmt(a.units, 0) : '–';
    el('experiments').replaceChildren(...Object.values(state.lifts).map((l) => {
      const tr = node('tr');
      tr.dataset.experiment = l.experimentId;
      tr.append(node('td', l.experimentId + ' · ' + [l.channel, l.campaign].filter(Boolean).join(' / ')), node('td', rate(l.exposed)), node('td', rate(l.holdout)),
        node('td', (l.absolute.estimate >= 0 ? '+' : '') + pct(l.absolute.estimate) + ' [' + pct(l.absolute.low) + ', ' + pct(l.absolute.high) + ']'),
        node('td', fmt(l.incremental.estimate, 1)));
      return tr;
    }));
    el('experiments-section').hidden = false;
  }

  function onMetrics(m) {
    if (m.type === 'experiment_lift') { state.lifts[m.data.experimentId] = m.data; renderLifts(); return; }
    if (m.type === 'calibrated_credit') return;
    if (m.type === 'revenue_by_channel') state.revenue[m.data.model] = m.data.channels;
    else if (m.type === 'window_metrics') {
      state.windows[m.data.model] = m.data;
      for (const w of Object.keys(m.data.windows)) {
        const t = m.data.windows[w].total;
        if (t.roi == null) continue;
        const k = m.data.model + '|' + w;
        const pts = state.trend[k] || (state.trend[k] = []);
        pts.push({ at: m.data.at, roi: t.roi });
        if (pts.length > 300) pts.shift();
      }
    }
    render();
  }

  function connect() {
    const proto = location.protocol === 'https:' ? 'wss' : 'ws';
    const ws = new WebSocket(proto + '://' + location.host + '/v1/stream?token=' + encodeURIComponent(key));
    ws.onopen = () => {
      state.retry = 500;
      el('status').textContent = 'live'; el('status').className = 'live';
      const sub = { type: 'subscribe', channels: ['metrics', 'credits', 'alerts', 'suggestions', 'fraud'] };
      if (state.lastId) sub.since = state.lastId; else sub.recent = 100;
      ws.send(JSON.stringify(sub));
    };
    ws.onmessage = (ev) => {
      const m = JSON.parse(ev.data);
      if (m.channel !== 'control') state.lastId = m.id;
      if (m.channel === 'metrics') onMetrics(m);
      else if (m.channel === 'credits') addCredit(m);
      else if (m.channel === 'alerts') addAlert(m);
      else if (m.channel === 'suggestions') addSuggestion(m);
      else if (m.channel === 'fraud') { if (m.type === 'fraud_flag') addFlag(m); else addAlert(m); }
    };
    ws.onclose = (ev) => {
      el('status').textContent = ev.code === 1006 && ev.reason === '' ? 'reconnecting…' : 'disconnected: ' + (ev.reason || ev.code);
      el('status').className = '';
      setTimeout(connect, state.retry); state.retry = Math.min(state.retry * 2, 10000);
    };
  }
  window.addEventListener('resize', render);
  connect();
})();
</script>
</body>
</html>
`;
