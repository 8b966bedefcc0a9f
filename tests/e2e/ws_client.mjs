// The protocol against a client we did not write: the `ws` package under Node.js drives two real
// `worldline node` processes (regions A and B, replicating to each other) through the scenarios
// of issue #5. Exits 0 when every check passed, 1 with the failing check otherwise.
//
//   node ws_client.mjs <portA> <portB> <pidA> <tokenSecret>
import crypto from 'node:crypto';
import WebSocket from 'ws';

const [portA, portB, pidA, secret] = process.argv.slice(2);
const STEP_MS = 10000;

function b64url(x) {
  return Buffer.from(x).toString('base64').replace(/=/g, '').replace(/\+/g, '-').replace(/\//g, '_');
}
// An HS256 JWT minted here, independently of `worldline token`.
function token(player, key = secret, expiresIn = 3600) {
  const now = Math.floor(Date.now() / 1000);
  const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = b64url(JSON.stringify({ sub: String(player), exp: now + expiresIn, iat: now }));
  const sig = crypto.createHmac('sha256', key).update(`${head}.${body}`).digest('base64')
    .replace(/=/g, '').replace(/\+/g, '-').replace(/\//g, '_');
  return `${head}.${body}.${sig}`;
}

function fail(what) {
  console.error(`FAIL: ${what}`);
  process.exit(1);
}
function check(cond, what) {
  if (!cond) fail(what);
  console.log(`ok: ${what}`);
}

// A client: frames queue up; next(pred) resolves with the first frame matching pred.
class Client {
  constructor(port) {
    this.frames = [];
    this.waiters = [];
    this.closeCode = null;
    this.ws = new WebSocket(`ws://127.0.0.1:${port}/`, 'worldline.json');
    this.ws.on('message', (data) => {
      const frame = JSON.parse(data.toString());
      this.frames.push(frame);
      this.pump();
    });
    this.ws.on('close', (code) => {
      this.closeCode = code;
      this.pump();
    });
    this.ws.on('error', () => {});
  }
  open() {
    return new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
  }
  send(obj) { this.ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj)); }
  pump() {
    for (const w of [...this.waiters]) {
      const i = this.frames.findIndex(w.pred);
      if (i >= 0) {
        const [f] = this.frames.splice(0, i + 1).slice(-1);
        this.waiters.splice(this.waiters.indexOf(w), 1);
        clearTimeout(w.timer);
        w.resolve(f);
      } else if (this.closeCode !== null && w.orClose) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        clearTimeout(w.timer);
        w.resolve(null);
      }
    }
  }
  next(pred, what, { orClose = false } = {}) {
    return new Promise((resolve) => {
      const w = { pred, resolve, orClose, timer: setTimeout(() => fail(`timed out: ${what}`), STEP_MS) };
      this.waiters.push(w);
      this.pump();
    });
  }
  async hello(player, resume) {
    this.send({ type: 'hello', token: token(player), ...(resume ? { resume } : {}) });
    return this.next((f) => f.type === 'welcome' || f.type === 'error', `welcome for ${player}`);
  }
  ackAtLeast(seq, what) {
    return this.next((f) => f.type === 'state' && f.ack >= seq, what);
  }
}

const entity = (state, id) => state.entities.find((e) => e.id === id);
const move = (seq, x, z) => ({ type: 'action', seq, kind: 'move', t: Date.now(), args: { x, y: 0, z } });

async function main() {
  // 1. A client acts and receives its ack and the authoritative state.
  const a = new Client(portA);
  await a.open();
  check(a.ws.protocol === 'worldline.json', 'the node agreed on subprotocol worldline.json');
  const welcome = await a.hello(1);
  check(welcome.type === 'welcome' && welcome.player === 1, 'player 1 welcomed by region A');
  a.send(move(1, 5, 5));
  const s1 = await a.ackAtLeast(1, 'ack of seq 1');
  const me = entity(s1, 1);
  check(s1.ack === 1 && me && me.x === 5 && me.z === 5, 'ack 1 with the authoritative position (5, 5)');

  // 2. A client in region B sees the player of region A, and follows its moves.
  const b = new Client(portB);
  await b.open();
  check((await b.hello(2)).type === 'welcome', 'player 2 welcomed by region B');
  await b.next((f) => f.type === 'state' && entity(f, 1) && entity(f, 1).x === 5,
    'B sees player 1 at x=5');
  console.log('ok: region B sees region A\'s player');
  a.send(move(2, 10, 5));
  await a.ackAtLeast(2, 'ack of seq 2');
  await b.next((f) => f.type === 'state' && entity(f, 1) && entity(f, 1).x === 10,
    'B sees player 1 move to x=10');
  console.log('ok: region B follows the move');

  // 3. Malformed frames get their error; the session and the node carry on.
  a.send('{not json');
  const e1 = await a.next((f) => f.type === 'error', 'error for bad JSON');
  check(e1.code === 4002 && e1.name === 'bad_json', 'bad JSON → error 4002 bad_json');
  a.send({ type: 'action', seq: 'x', kind: 'move' });
  const e2 = await a.next((f) => f.type === 'error', 'error for a bad field');
  check(e2.code === 4005, 'seq of the wrong type → error 4005 bad_field');
  a.send({ type: 'ping', t: 99 });
  check((await a.next((f) => f.type === 'pong', 'pong')).t === 99, 'the session still answers ping');

  // 4. A forged token is refused with 4011 and the connection closed with 1008.
  const forger = new Client(portB);
  await forger.open();
  forger.send({ type: 'hello', token: token(3, 'not the secret') });
  const e3 = await forger.next((f) => f.type === 'error', 'error for a forged token');
  check(e3.code === 4011 && /signature/.test(e3.message), 'forged token → error 4011 (bad signature)');
  await forger.next(() => false, 'close after the forged token', { orClose: true });
  check(forger.closeCode === 1008, 'and the connection closed with 1008');

  // 4b. A 4 MiB message (over 4 × max_frame_bytes) is closed with 1009 and a reason, not reset.
  const big = new Client(portB);
  await big.open();
  check((await big.hello(4)).type === 'welcome', 'player 4 welcomed by region B');
  let bigReason = '';
  big.ws.on('close', (code, reason) => { bigReason = reason.toString(); });
  big.send('x'.repeat(4 << 20));
  await big.next(() => false, 'close after a 4 MiB message', { orClose: true });
  check(big.closeCode === 1009 && /frame too large/.test(bigReason),
    `a 4 MiB message → close 1009 '${bigReason}' (got ${big.closeCode})`);

  // 5. Items lie in the world (the nodes' [region] items): the state frames show them. A pickup
  //    of an unknown id is refused as no_such_item, of an item out of reach as out_of_range.
  //    Then both players walk onto the same item and grab it at once: exactly one keeps it. The
  //    loser hears it either at once (the winner's claim had already arrived: `refused`) or after
  //    the regions' deltas met (`conflict_lost`), and both regions show the item's owner.
  const seen = await a.next((f) => f.type === 'state' && f.entities.some((e) => e.item),
    'A sees the items');
  const item = seen.entities.filter((e) => e.item && !e.owner).sort((x, y) => x.id - y.id)[0];
  check(item && item.id >= 1e12, `an unclaimed item in sight: ${item && item.id}`);
  const pickup = (seq, target) => ({ type: 'action', seq, kind: 'pickup', t: Date.now(), args: { target } });
  a.send(pickup(3, 424242));
  const r1 = await a.next((f) => f.type === 'reject' && f.seq === 3, 'reject of an unknown item');
  check(r1.reason === 'no_such_item', 'a pickup of an unknown id → reject no_such_item');
  b.send(pickup(1, item.id));  // from the origin: at least 6 away
  const r2 = await b.next((f) => f.type === 'reject' && f.seq === 1, 'reject of a far item');
  check(r2.reason === 'out_of_range', `a pickup from afar → reject out_of_range (${r2.detail})`);
  const verdicts = [];
  const watch = (c, seq, who) => c.next((f) => (f.type === 'reject' && f.seq === seq) ||
    (f.type === 'state' && f.ack >= seq && Date.now() > grabbedAt + 1500), `verdict for ${who}`)
    .then((f) => verdicts.push({ who, lost: f.type === 'reject', reason: f.reason }));
  const grabbedAt = Date.now();
  a.send(move(4, item.x, item.z));
  a.send(pickup(5, item.id));
  b.send(move(2, item.x, item.z));
  b.send(pickup(3, item.id));
  await Promise.all([watch(a, 5, 'A'), watch(b, 3, 'B')]);
  const losers = verdicts.filter((v) => v.lost);
  check(losers.length === 1 && ['refused', 'conflict_lost'].includes(losers[0].reason),
    `one of the two grabs lost (${losers.map((l) => l.who + ':' + l.reason).join(',')})`);
  const winner = losers[0].who === 'A' ? 2 : 1;
  for (const [c, name] of [[a, 'A'], [b, 'B']]) {
    await c.next((f) => f.type === 'state' && entity(f, item.id) && entity(f, item.id).owner === winner,
      `region ${name} shows the item owned by player ${winner}`);
  }
  console.log(`ok: both regions show item ${item.id} owned by player ${winner}`);

  // 6. Failover: A dies; player 1 resumes in B with its last ack. The acknowledged seq 6 is not
  //    applied twice (B refuses the resend as a duplicate); the unacknowledged seq 7 is applied.
  a.send(move(6, 15, 5));
  const s3 = await a.ackAtLeast(6, 'ack of seq 6');
  check(entity(s3, 1).x === 15, 'seq 6 applied on A (x=15)');
  await b.next((f) => f.type === 'state' && entity(f, 1) && entity(f, 1).x === 15,
    'B holds seq 6\'s effect before A dies');
  process.kill(Number(pidA), 'SIGKILL');
  const killedAt = Date.now();
  const a2 = new Client(portB);
  await a2.open();
  const w2 = await a2.hello(1, { last_ack: 6 });
  check(w2.type === 'welcome' && w2.region !== welcome.region, 'player 1 resumes in region B');
  a2.send(move(6, 15, 5));  // resent: the client cannot tell it was applied
  a2.send(move(7, 20, 5));
  const dup = await a2.next((f) => f.type === 'reject' && f.seq === 6, 'reject of the resent seq 6');
  check(dup.reason === 'duplicate', 'the resent seq 6 is refused as a duplicate, not applied twice');
  const s5 = await a2.ackAtLeast(7, 'ack of seq 7 in B');
  check(s5.ack === 7 && entity(s5, 1).x === 20, 'seq 7 applied in B (x=20), ack 7');
  console.log(`ok: acting again in B ${Date.now() - killedAt} ms after A was killed`);

  for (const c of [b, a2]) c.ws.close(1000);
  console.log('PASS');
  process.exit(0);
}

setTimeout(() => fail('the whole scenario took over 60 s'), 60000);
main().catch((e) => fail(e.stack || String(e)));
