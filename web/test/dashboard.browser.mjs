// The dashboard in a real browser (Debian's Chromium, driven by playwright-core) against a real
// node while the load generator plays on it (web/test/run.sh starts them):
//   - the page loads and runs with no console error and no uncaught exception;
//   - the feed is live and the map draws as many players as the node's /metrics says are
//     connected, which is as many as the load generator created, every one with its session here;
//     the other region's dashboard holds the same players, replicated, none with a session there;
//   - the plots update (more samples, actions processed, different pixels a moment later);
//   - a flagged player's evidence opens, a verdict click is stored (read back through the API).
// Screenshots go to the artifacts folder. Prints "PASS: dashboard in Chromium" when all held.
// Usage: node dashboard.browser.mjs <admin host:port> <players> <admin token> <artifacts dir>
//                                   <the other region's admin host:port>
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const [admin, playersArg, token, artifacts, otherAdmin] = process.argv.slice(2);
const players = Number(playersArg);
const base = `http://${admin}`;

async function metric(name) {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  assert.ok(line, `${name} not in /metrics`);
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}

async function api(method, path, body) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  assert.equal(res.status, 200, `${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text);
}

// Polls `check` every 200 ms until it returns a truthy value, at most `ms`.
async function until(what, ms, check) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    last = await check();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what}: not within ${ms} ms (last: ${JSON.stringify(last)})`);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
const errors = [];
try {
  const page = await browser.newPage({ viewport: { width: 1500, height: 1300 } });
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => errors.push(`exception: ${e.message}`));
  page.on('response', (r) => { if (r.status() >= 400) errors.push(`${r.status()} ${r.url()}`); });

  await page.goto(`${base}/dashboard/`);
  await until('the feed is live', 15000, async () => (await page.textContent('#feed-status')) === 'live');

  // Every player the load generator connected, on the map: as many as /metrics says are attached.
  const drawn = await until('the map draws every connected player', 30000, async () => {
    const sessions = await metric('worldline_gateway_sessions');
    const onMap = Number(await page.textContent('#players-drawn'));
    return sessions === players && onMap === sessions ? onMap : false;
  });
  assert.equal(drawn, players);
  assert.equal(Number(await page.textContent('#players-total')), players);
  assert.equal(Number(await page.textContent('#players-here')), players);
  // The other region holds them too, by replication, with no session there.
  await until('the other region holds every player', 30000, async () => {
    const res = await fetch(`http://${otherAdmin}/dashboard/state`);
    if (res.status !== 200) return false;
    const frame = await res.json();
    return frame.players_total === players && frame.players.every((p) => p[3] === 0);
  });

  // The plots move on.
  const plot = () => page.$eval('#plot-actions', (c) => c.toDataURL());
  const samples = async () => Number(await page.textContent('#samples'));
  const before = { pixels: await plot(), samples: await samples() };
  await new Promise((r) => setTimeout(r, 2000));
  assert.ok(await samples() >= before.samples + 2, 'the plots took no new samples in 2 s');
  assert.ok(await page.evaluate(() => state.series.processed.some((v) => v > 0)),
    'the actions plot saw no action processed');
  assert.notEqual(await plot(), before.pixels, 'the actions plot did not change in 2 s');
  await page.screenshot({ path: `${artifacts}/dashboard.png`, fullPage: true });

  // Review: the load generator's labelled teleporters are flagged by the node's detector.
  const flags = await until('a flag', 60000, async () => {
    const list = await api('GET', '/admin/flags');
    return list.total > 0 ? list : false;
  });
  await page.fill('#token', token);
  await page.click('#load-flags');
  await page.waitForSelector('#flag-list tbody tr', { timeout: 10000 });
  const id = flags.flags[0].id;
  await page.click(`#flag-list tbody tr[data-flag="${id}"]`);
  await page.waitForSelector('#flag-detail:not([hidden])', { timeout: 10000 });
  assert.equal(await page.textContent('#detail-id'), id);
  await page.fill('#verdict-note', 'seen in the browser test');
  await page.click('#confirm');
  await until('the verdict is stored', 15000,
    async () => (await page.textContent('#verdict-status')).startsWith('stored: confirmed'));
  const stored = await api('GET', `/admin/flags/${id}`);
  assert.equal(stored.verdict?.verdict, 'confirmed');
  assert.equal(stored.verdict?.note, 'seen in the browser test');
  await page.screenshot({ path: `${artifacts}/dashboard-flag.png`, fullPage: true });

  assert.deepEqual(errors, [], 'the page logged errors');
  console.log(`PASS: dashboard in Chromium (${drawn} players drawn, flag ${id} confirmed; screenshots in ${artifacts})`);
} finally {
  await browser.close();
}
