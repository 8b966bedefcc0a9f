// Prediction at added latency, shown: two players walk the same circle over one node, each
// action sent 50 ms apart, every frame delayed by half the added round trip each way. One client
// predicts (its drawn position is where it just asked to be, corrected when the node disagrees);
// the other draws only what the node confirmed. Prints how far each drawn position trails the
// position asked for, and the corrections.
//
//   node dist/examples/latency_demo.js <ws url> <token player A> <token player B> [rtt ms] [seconds]
import { WorldlineClient, type EntityState, type SequencedAction, type SocketLike } from '../src/index.js';
import { wsSocketFactory } from '../src/node.js';

const [url, tokenA, tokenB, rttArg = '200', secondsArg = '5'] = process.argv.slice(2);
if (!url || !tokenA || !tokenB) {
  console.error('usage: latency_demo.js <ws url> <token A> <token B> [rtt ms] [seconds]');
  process.exit(2);
}
const oneWayMs = Number(rttArg) / 2;

/** A socket whose frames take `delay` ms longer each way (a userspace stand-in for netem). */
function delayedSocket(url: string, protocols: string[], delay: number): SocketLike {
  const inner = wsSocketFactory(url, protocols);
  const later = (fn: () => void) => setTimeout(fn, delay);
  const outer: SocketLike = {
    send: (data) => later(() => inner.send(data)),
    close: (code, reason) => inner.close(code, reason),
    onopen: null, onmessage: null, onclose: null, onerror: null,
  };
  inner.onopen = (e) => later(() => outer.onopen?.(e));
  inner.onmessage = (e) => later(() => outer.onmessage?.(e));
  inner.onclose = (e) => later(() => outer.onclose?.(e));
  inner.onerror = (e) => outer.onerror?.(e);
  return outer;
}

const step = (s: EntityState, a: SequencedAction): EntityState =>
  a.kind === 'move' ? { ...s, x: a.args?.x ?? s.x, y: a.args?.y ?? s.y, z: a.args?.z ?? s.z } : s;

interface Run { name: string; client: WorldlineClient<EntityState>; errors: number[] }
function start(name: string, token: string, predict: boolean): Run {
  const client = new WorldlineClient<EntityState>({
    urls: [url], token, socket: (u, p) => delayedSocket(u, p, oneWayMs),
    ...(predict ? { prediction: { step, epsilon: 0.01 } } : {}),
  });
  client.on('error', (e) => console.error(`${name}: ${e.kind}: ${e.message}`));
  client.connect();
  return { name, client, errors: [] };
}

async function walk(run: Run, seconds: number): Promise<void> {
  await run.client.next('ready');
  const c = run.client;
  const centre = { x: c.predicted!.x - 8, z: c.predicted!.z };  // on a circle of radius 8 through the spawn
  const speed = 6;  // world units per second: well within the movement budget
  let angle = 0;
  let asked = { x: c.predicted!.x, z: c.predicted!.z };
  const timer = setInterval(() => {
    // Sample before acting: how far the drawn position is from the last position asked for.
    const p = c.predicted!;
    run.errors.push(Math.hypot(p.x - asked.x, p.z - asked.z));
    angle += (speed * 0.05) / 8;
    asked = { x: centre.x + 8 * Math.cos(angle), z: centre.z + 8 * Math.sin(angle) };
    c.act({ kind: 'move', args: { x: asked.x, y: 0, z: asked.z } });
  }, 50);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  clearInterval(timer);
}

const pct = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];
const runs = [start('predicted', tokenA, true), start('confirmed only', tokenB, false)];
await Promise.all(runs.map((r) => walk(r, Number(secondsArg))));
console.log(`added round trip ${rttArg} ms, ${secondsArg} s of walking at 6 units/s, a move every 50 ms`);
for (const r of runs) {
  const tail = r.errors.slice(10);  // after the first half second
  const mean = tail.reduce((a, b) => a + b, 0) / tail.length;
  console.log(`${r.name.padEnd(15)} drawn position behind the one asked for: mean ${mean.toFixed(2)}, ` +
    `p95 ${pct(tail, 0.95).toFixed(2)} units; corrections ${r.client.corrections}; ` +
    `acked ${r.client.ack} of ${r.client.lastSeq}; rtt ${r.client.rttMs} ms`);
  r.client.close();
}
