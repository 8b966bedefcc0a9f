// worldline's live dashboard (docs/dashboard.md). Reads the node's frames from the server-sent
// events of GET /dashboard/feed (one JSON frame every [dashboard] interval_ms), draws the region's
// map and the figures' plots, and reviews flagged players through the admin API (/admin/flags,
// with the admin token the operator types in; it is kept in this tab's sessionStorage only).
'use strict';

const HISTORY = 240; // samples kept per plot (2 minutes at the default 500 ms)
const WORKER_COLOURS = ['#3b6ea8', '#3f8f5a', '#9a6b2f', '#7a4f9e', '#2f8f8f', '#9e4f6b',
  '#6b8f2f', '#4f5f9e'];
const $ = (id) => document.getElementById(id);

const state = { frames: 0, last: null, series: {} };

// ---- the feed ----------------------------------------------------------------------------------

function connect() {
  const source = new EventSource('/dashboard/feed');
  source.onopen = () => setFeed(true);
  source.onerror = () => {
    // EventSource reconnects by itself after a dropped connection, but not after an HTTP error
    // (503: too many streams; 404: the dashboard is off or moved): then try again in 5 s.
    if (source.readyState === EventSource.CLOSED) {
      setFeed(false, 'closed: retrying');
      setTimeout(connect, 5000);
    } else {
      setFeed(false);
    }
  };
  source.onmessage = (e) => {
    let frame;
    try {
      frame = JSON.parse(e.data);
    } catch (err) {
      console.warn('dashboard: a frame that is not JSON was skipped', err);
      return;
    }
    state.frames += 1;
    state.last = frame;
    headline(frame);
    drawMap(frame);
    record(frame);
    drawPlots();
  };
}

function setFeed(up, why = 'reconnecting') {
  const el = $('feed-status');
  el.textContent = up ? 'live' : why;
  el.className = up ? 'up' : 'down';
}

function headline(f) {
  $('region').textContent = `${f.region} (replica ${f.replica}, ${f.workers} ${f.workers === 1 ? "worker" : "workers"}, ${f.tick_hz} Hz)`;
  $('tick').textContent = f.tick;
  $('sessions').textContent = f.figures.sessions;
  $('players-total').textContent = f.players_total;
  $('npcs-total').textContent = f.npcs_total;
  $('events-running').textContent = f.events.length;
  $('cells').textContent = f.cells.length;
  $('frames').textContent = state.frames;
}

// ---- the map -----------------------------------------------------------------------------------

// The part of the world to draw: everything, or the box around what is happening (players, NPCs,
// events), padded, at least 100 units wide.
function viewBox(f) {
  const w = f.world;
  if (!$('fit').checked) return { x0: w.min_x, z0: w.min_z, x1: w.max_x, z1: w.max_z };
  let x0 = Infinity; let z0 = Infinity; let x1 = -Infinity; let z1 = -Infinity;
  const take = (x, z, r = 0) => {
    x0 = Math.min(x0, x - r); z0 = Math.min(z0, z - r);
    x1 = Math.max(x1, x + r); z1 = Math.max(z1, z + r);
  };
  for (const p of f.players) take(p[1], p[2]);
  for (const n of f.npcs) take(n[1], n[2]);
  for (const e of f.events) take(e.x, e.z, e.radius);
  if (x0 === Infinity) return { x0: w.min_x, z0: w.min_z, x1: w.max_x, z1: w.max_z };
  const pad = Math.max(20, 0.08 * Math.max(x1 - x0, z1 - z0));
  x0 -= pad; z0 -= pad; x1 += pad; z1 += pad;
  // The canvas's proportions, so the box fills it: wider or taller around the same centre.
  const canvas = $('map');
  const aspect = canvas.width / canvas.height;
  let width = Math.max(100, x1 - x0); let height = Math.max(100 / aspect, z1 - z0);
  if (width / height < aspect) width = height * aspect; else height = width / aspect;
  const cx = (x0 + x1) / 2; const cz = (z0 + z1) / 2;
  return { x0: cx - width / 2, z0: cz - height / 2, x1: cx + width / 2, z1: cz + height / 2 };
}

function drawMap(f) {
  const canvas = $('map');
  const g = canvas.getContext('2d');
  const v = viewBox(f);
  const scale = Math.min(canvas.width / (v.x1 - v.x0), canvas.height / (v.z1 - v.z0));
  const X = (x) => (x - v.x0) * scale;
  const Z = (z) => (z - v.z0) * scale;
  const inside = (x, z) => x >= v.x0 && x <= v.x1 && z >= v.z0 && z <= v.z1;
  g.clearRect(0, 0, canvas.width, canvas.height);

  g.font = '10px system-ui, sans-serif';
  for (const c of f.cells) {
    const x = X(Math.max(c.min_x, v.x0)); const z = Z(Math.max(c.min_z, v.z0));
    const w = X(Math.min(c.max_x, v.x1)) - x; const h = Z(Math.min(c.max_z, v.z1)) - z;
    if (w <= 0 || h <= 0) continue;
    g.fillStyle = WORKER_COLOURS[c.worker % WORKER_COLOURS.length] + '33';
    g.fillRect(x, z, w, h);
    g.strokeStyle = WORKER_COLOURS[c.worker % WORKER_COLOURS.length];
    g.strokeRect(x + 0.5, z + 0.5, w - 1, h - 1);
    if (w > 60 && h > 24) {
      g.fillStyle = '#8a96a3';
      g.fillText(`w${c.worker} · ${c.entities} here · ${c.ghosts} ghosts`, x + 4, z + 12);
    }
  }
  for (const e of f.events) {
    g.strokeStyle = '#ffb020';
    g.lineWidth = 2;
    g.beginPath();
    g.arc(X(e.x), Z(e.z), Math.max(4, e.radius * scale), 0, 2 * Math.PI);
    g.stroke();
    g.lineWidth = 1;
    g.fillStyle = '#ffb020';
    g.fillText(`${e.event} (${e.phase}, tier ${e.tier}, ${e.npcs_alive} NPCs)`, X(e.x) + 6, Z(e.z) - 6);
  }
  let players = 0; let here = 0;
  for (const p of f.players) {
    if (p[1] === null || p[2] === null || !inside(p[1], p[2])) continue;
    g.fillStyle = p[3] ? '#4fb3ff' : '#9aa5b1';
    g.fillRect(X(p[1]) - 1.5, Z(p[2]) - 1.5, 3, 3);
    if (p[4] > 0) { // a ghost in a neighbouring cell: it stands within the margin of a border
      g.strokeStyle = '#e0e0e0';
      g.strokeRect(X(p[1]) - 3.5, Z(p[2]) - 3.5, 7, 7);
    }
    players += 1;
    if (p[3]) here += 1;
  }
  let npcs = 0;
  for (const n of f.npcs) {
    if (n[1] === null || n[2] === null || !inside(n[1], n[2]) || n[3] <= 0) continue; // defeated: not drawn
    g.fillStyle = '#ff5050';
    g.beginPath();
    g.arc(X(n[1]), Z(n[2]), 3.5, 0, 2 * Math.PI);
    g.fill();
    npcs += 1;
  }
  $('players-drawn').textContent = players;
  $('players-here').textContent = here;
  $('npcs-drawn').textContent = npcs;
  $('sampled').textContent = f.players.length < f.players_total
    ? `a sample of ${f.players.length} of ${f.players_total} players` : 'every player';
}

// ---- the plots ---------------------------------------------------------------------------------

function push(name, value) {
  const s = state.series[name] || (state.series[name] = []);
  s.push(value);
  if (s.length > HISTORY) s.shift();
}

function record(f) {
  const fig = f.figures;
  push('processed', fig.actions_per_s);
  push('received', fig.received_per_s);
  push('ack50', fig.ack_ms.p50); push('ack95', fig.ack_ms.p95); push('ack99', fig.ack_ms.p99);
  push('tick50', fig.tick_ms.p50); push('tick99', fig.tick_ms.p99); push('turn99', fig.turn_ms.p99);
  const peers = new Set(f.replication.map((p) => `peer ${p.peer}`));
  for (const p of f.replication) push(`peer ${p.peer}`, p.lag_ms);
  for (const name of Object.keys(state.series)) { // a peer gone from the frame: a gap, not a stale line
    if (name.startsWith('peer ') && !peers.has(name)) push(name, null);
  }
  $('samples').textContent = state.series.processed.length;
}

const LINE_COLOURS = ['#4fb3ff', '#ffb020', '#ff5050', '#7ad17a', '#c77dff', '#9aa5b1'];

function plot(canvasId, names) {
  const canvas = $(canvasId);
  const g = canvas.getContext('2d');
  g.clearRect(0, 0, canvas.width, canvas.height);
  let max = 1;
  for (const n of names) for (const v of state.series[n] || []) if (v !== null) max = Math.max(max, v);
  const top = 14; const h = canvas.height - top - 4; const w = canvas.width;
  g.font = '10px system-ui, sans-serif';
  g.fillStyle = '#8a96a3';
  g.fillText(`max ${Math.round(max * 10) / 10}`, 4, 10);
  names.forEach((n, i) => {
    const s = state.series[n] || [];
    g.strokeStyle = LINE_COLOURS[i % LINE_COLOURS.length];
    g.beginPath();
    let drawing = false;
    const beyond = []; // -1: past the histogram's last bound, drawn at the top with a mark
    s.forEach((v, k) => {
      if (v === null) { drawing = false; return; }
      const x = w - (s.length - 1 - k) * (w / HISTORY);
      const y = v < 0 ? top : top + h - (v / max) * h;
      if (v < 0) beyond.push(x);
      if (drawing) g.lineTo(x, y); else g.moveTo(x, y);
      drawing = true;
    });
    g.stroke();
    g.fillStyle = LINE_COLOURS[i % LINE_COLOURS.length];
    for (const x of beyond) g.fillRect(x - 2, top - 4, 4, 4);
    const last = s.length ? s[s.length - 1] : null;
    g.fillStyle = LINE_COLOURS[i % LINE_COLOURS.length];
    g.fillText(`${n} ${last === null ? '–' : last < 0 ? 'past the last bound' : last}`, 70 + i * 80, 10);
  });
}

function drawPlots() {
  plot('plot-actions', ['processed', 'received']);
  plot('plot-ack', ['ack50', 'ack95', 'ack99']);
  plot('plot-tick', ['tick50', 'tick99', 'turn99']);
  plot('plot-lag', Object.keys(state.series).filter((n) => n.startsWith('peer ')));
}

// ---- flag review -------------------------------------------------------------------------------

function token() {
  return $('token').value.trim();
}

async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${token()}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${res.status}: ${text.trim()}`);
  return JSON.parse(text);
}

function verdictText(v) {
  return v ? `${v.verdict}${v.note ? ` (${v.note})` : ''}` : 'unreviewed';
}

async function loadFlags() {
  const status = $('flags-status');
  if (!token()) { status.textContent = 'an admin token is needed'; return; }
  sessionStorage.setItem('worldline-admin-token', token());
  try {
    const list = await api('GET', '/admin/flags?limit=200');
    const body = $('flag-list').querySelector('tbody');
    body.replaceChildren();
    for (const f of list.flags) {
      const tr = document.createElement('tr');
      tr.dataset.flag = f.id;
      for (const cell of [f.id, f.player, f.region, f.confidence.toFixed(3),
        f.fired.map((c) => c.check).join(', '), verdictText(f.verdict)]) {
        const td = document.createElement('td');
        td.textContent = cell;
        tr.appendChild(td);
      }
      tr.addEventListener('click', () => showFlag(f.id));
      body.appendChild(tr);
    }
    status.className = '';
    status.textContent = list.total === 1 ? '1 flag' : `${list.total} flags`;
  } catch (err) {
    status.className = 'error';
    status.textContent = err.message;
  }
}

async function showFlag(id) {
  for (const tr of $('flag-list').querySelectorAll('tbody tr')) {
    tr.classList.toggle('selected', tr.dataset.flag === id);
  }
  let f;
  try {
    f = await api('GET', `/admin/flags/${id}`);
  } catch (err) {
    $('flags-status').className = 'error';
    $('flags-status').textContent = err.message;
    return;
  }
  $('flag-detail').hidden = false;
  $('flag-detail').dataset.flag = id;
  $('detail-id').textContent = f.id;
  $('detail-player').textContent = `${f.player} (confidence ${f.confidence.toFixed(3)}, ${verdictText(f.verdict)})`;
  $('detail-checks').textContent = f.checks
    .map((c) => `${c.check}: ${c.statistic.toFixed(2)} of ${c.threshold.toFixed(2)}`).join(' · ');
  $('verdict-status').textContent = '';
  const body = $('evidence').querySelector('tbody');
  body.replaceChildren();
  for (const e of f.evidence) {
    const tr = document.createElement('tr');
    for (const cell of [e.tick, e.kind, e.x.toFixed(1), e.z.toFixed(1), e.asked.toFixed(2),
      e.granted.toFixed(2), e.reach.toFixed(2), e.limit, e.ok ? 'yes' : 'no']) {
      const td = document.createElement('td');
      td.textContent = cell;
      tr.appendChild(td);
    }
    body.appendChild(tr);
  }
  drawTimeline(f.evidence);
}

// The evidence along the ticks: one row per action kind, green where the action was within the
// rules, red where it was clamped or refused.
function drawTimeline(evidence) {
  const canvas = $('timeline');
  const g = canvas.getContext('2d');
  g.clearRect(0, 0, canvas.width, canvas.height);
  if (!evidence.length) return;
  const kinds = [...new Set(evidence.map((e) => e.kind))];
  const t0 = Math.min(...evidence.map((e) => e.tick));
  const t1 = Math.max(...evidence.map((e) => e.tick), t0 + 1);
  const left = 60; const w = canvas.width - left - 8;
  const rowH = Math.min(24, (canvas.height - 16) / kinds.length);
  g.font = '10px system-ui, sans-serif';
  kinds.forEach((k, i) => {
    g.fillStyle = '#8a96a3';
    g.fillText(k, 4, 14 + i * rowH + rowH / 2);
  });
  for (const e of evidence) {
    const x = left + ((e.tick - t0) / (t1 - t0)) * w;
    const y = 8 + kinds.indexOf(e.kind) * rowH;
    g.fillStyle = e.ok ? '#3f8f5a' : '#ff5050';
    g.fillRect(x - 1, y + 2, 3, rowH - 4);
  }
  g.fillStyle = '#8a96a3';
  g.fillText(`tick ${t0}`, left, canvas.height - 2);
  g.fillText(`tick ${t1}`, canvas.width - 70, canvas.height - 2);
}

async function sendVerdict(verdict) {
  const id = $('flag-detail').dataset.flag;
  const status = $('verdict-status');
  status.className = '';
  status.textContent = 'sending…';
  try {
    const note = $('verdict-note').value;
    const f = await api('POST', `/admin/flags/${id}/verdict`, note ? { verdict, note } : { verdict });
    await loadFlags();
    await showFlag(id); // the detail as stored now
    $('verdict-status').textContent = `stored: ${verdictText(f.verdict)}`;
  } catch (err) {
    status.className = 'error';
    status.textContent = err.message;
  }
}

$('load-flags').addEventListener('click', loadFlags);
$('confirm').addEventListener('click', () => sendVerdict('confirmed'));
$('dismiss').addEventListener('click', () => sendVerdict('dismissed'));
$('fit').addEventListener('change', () => { if (state.last) drawMap(state.last); });
$('token').value = sessionStorage.getItem('worldline-admin-token') || '';
connect();
