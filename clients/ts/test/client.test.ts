import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { WorldlineClient, type ClientEvents, type SocketLike, type Timers } from '../src/client.js';
import type { EntityState, SequencedAction, ServerFrame } from '../src/protocol.js';
import { decodeClientCapnp, encodeServerCapnp } from '../src/protocol_capnp.js';

// A socket the test plays the node with: it records what the client sends.
class FakeSocket implements SocketLike {
  sent: unknown[] = [];
  closedByClient = false;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason?: unknown }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  binaryType = 'blob';  // a browser socket's default
  constructor(readonly url: string, readonly protocols: string[]) {}
  /** What the client sent: a JSON frame parsed, a binary one decoded as the node would. */
  send(data: string | Uint8Array): void { this.sent.push(typeof data === 'string' ? JSON.parse(data) : decodeClientCapnp(data)); }
  close(): void { this.closedByClient = true; }
  open(): void { this.onopen?.({}); }
  frame(f: unknown): void { this.onmessage?.({ data: typeof f === 'string' || f instanceof Uint8Array ? f : JSON.stringify(f) }); }
  /** A binary frame, as a socket with binaryType 'arraybuffer' hands it over. */
  binFrame(f: ServerFrame): void {
    const b = encodeServerCapnp(f);
    this.onmessage?.({ data: b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) });
  }
  drop(code = 1006, reason = ''): void { this.onerror?.({}); this.onclose?.({ code, reason }); }
}

// Timers that run when the test says so.
class FakeTimers implements Timers {
  pending: Array<{ id: number; fn: () => void; ms: number }> = [];
  private nextId = 1;
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.pending.push({ id, fn, ms });
    return id;
  }
  clearTimeout(h: unknown): void { this.pending = this.pending.filter((t) => t.id !== h); }
  /** Runs the one pending timer of `ms`. */
  fire(ms: number): void {
    const i = this.pending.findIndex((t) => t.ms === ms);
    assert.ok(i >= 0, `no pending ${ms}-ms timer (pending: ${this.pending.map((t) => t.ms).join(',')})`);
    const [t] = this.pending.splice(i, 1);
    t.fn();
  }
}

type Log = Array<[keyof ClientEvents, unknown]>;
interface P { x: number }
const step = (s: P, a: SequencedAction): P => ({ x: s.x + (a.args?.x ?? 0) });
const me = (x: number): EntityState => ({ id: 1, x, y: 0, z: 0, health: 100 });
const state = (tick: number, ack: number, entities: EntityState[]) => ({ type: 'state', tick, ack, entities, removed: [] });
const welcome = (region: string, ack = 0) => ({ type: 'welcome', player: 1, region, tick_hz: 20, ack });
const move = (x: number) => ({ kind: 'move', args: { x, y: 0, z: 0 } });

let sockets: FakeSocket[];
let timers: FakeTimers;
let log: Log;
let clock: number;

function makeClient(maxAttempts = 3, pingIntervalMs = 0, wire: 'json' | 'capnp' = 'json'): WorldlineClient<P> {
  const c = new WorldlineClient<P>({
    wire,
    urls: ['ws://a/', 'ws://b/', 'ws://c/'],
    token: 'tok',
    socket: (url, protocols) => {
      const s = new FakeSocket(url, protocols);
      sockets.push(s);
      return s;
    },
    prediction: { step, fromEntity: (e) => ({ x: e.x }), distance: (p, q) => Math.abs(p.x - q.x) },
    reconnect: { maxAttempts, baseDelayMs: 100, maxDelayMs: 250 },
    helloTimeoutMs: 5000,
    pingIntervalMs,
    now: () => clock,
    timers,
  });
  for (const ev of ['welcome', 'ready', 'state', 'ack', 'reject', 'conflictLost', 'reconnecting', 'resumed', 'error', 'closed'] as const) {
    c.on(ev, (p: unknown) => log.push([ev, p]));
  }
  return c;
}
const events = (name: keyof ClientEvents) => log.filter(([n]) => n === name).map(([, p]) => p);

/** A client in session with region a, synced at ack 0, having made moves 1, 2, 3 (dx 1, 10, 100). */
function inSession(): WorldlineClient<P> {
  const c = makeClient();
  c.connect();
  sockets[0].open();
  sockets[0].frame(welcome('a'));
  sockets[0].frame(state(10, 0, [me(0)]));
  for (const dx of [1, 10, 100]) c.act(move(dx));
  return c;
}

beforeEach(() => {
  sockets = [];
  timers = new FakeTimers();
  log = [];
  clock = 5000;
});

describe('WorldlineClient', () => {
  it('says hello with the token, numbers actions after the first frame\'s ack, sends seen', () => {
    const c = makeClient();
    c.connect();
    assert.equal(sockets[0].url, 'ws://a/');
    assert.deepEqual(sockets[0].protocols, ['worldline.json']);
    sockets[0].open();
    assert.deepEqual(sockets[0].sent, [{ type: 'hello', token: 'tok' }]);
    sockets[0].frame(welcome('a'));
    assert.throws(() => c.act(move(1)), /wait for the ready event/);
    sockets[0].frame(state(10, 41, [me(0)]));  // the player acted before: its seq space is at 41
    assert.deepEqual(events('ready'), [{ ack: 41 }]);
    assert.equal(c.act(move(1)), 42);
    assert.equal(c.act(move(2)), 43);
    assert.deepEqual(sockets[0].sent.slice(1), [
      { type: 'action', seq: 42, kind: 'move', t: 5000, args: { x: 1, y: 0, z: 0 }, seen: 10 },
      { type: 'action', seq: 43, kind: 'move', t: 5000, args: { x: 2, y: 0, z: 0 }, seen: 10 },
    ]);
    assert.equal(c.player, 1);
    assert.equal(c.region, 'a');
  });

  it('numbers above lastSeq when the first frame\'s ack is lower, and reports lastSeq', () => {
    const c = new WorldlineClient({ urls: ['ws://a/'], token: 't', lastSeq: 50, timers,
      socket: (url, protocols) => { const s = new FakeSocket(url, protocols); sockets.push(s); return s; } });
    assert.equal(c.lastSeq, 50);
    c.connect();
    sockets[0].open();
    sockets[0].frame(welcome('a'));
    sockets[0].frame(state(1, 41, [me(0)]));
    assert.equal(c.act(move(1)), 51);
    assert.equal(c.lastSeq, 51);
    assert.deepEqual(c.predicted, me(0), 'without prediction options: the authoritative entity');
  });

  it('predicts, reconciles on state frames, emits ack, reject and conflictLost', () => {
    const c = inSession();
    assert.deepEqual(c.predicted, { x: 111 });
    // The node applied 1 and clamped 2 to 5: the replay of 3 on top gives 106, not 111.
    sockets[0].frame(state(11, 2, [me(6)]));
    assert.deepEqual(c.predicted, { x: 106 });
    assert.equal(c.corrections, 1);
    assert.deepEqual(c.unacked.map((a) => a.seq), [3]);
    assert.deepEqual(events('ack'), [{ ack: 2 }]);
    const st = events('state') as Array<{ reconciliation: { replayed: number[] } }>;
    assert.deepEqual(st.map((s) => s.reconciliation.replayed), [[], [3]]);
    sockets[0].frame({ type: 'reject', seq: 3, reason: 'too_fast', detail: 'movement budget spent: wait for the next tick' });
    assert.deepEqual(events('reject'), [{ type: 'reject', seq: 3, reason: 'too_fast', detail: 'movement budget spent: wait for the next tick' }]);
    sockets[0].frame(state(12, 2, [me(6)]));  // 3 refused: not replayed
    assert.deepEqual(c.predicted, { x: 6 });
    sockets[0].frame({ type: 'reject', seq: 1, reason: 'conflict_lost', detail: 'item 7 is owned by 2' });
    assert.equal(events('conflictLost').length, 1);
    assert.equal(events('reject').length, 1, 'conflict_lost is not also a reject event');
    sockets[0].frame(state(13, 3, [me(6)]));
    assert.deepEqual(events('ack'), [{ ack: 2 }, { ack: 3 }]);
    assert.deepEqual(c.unacked, []);
  });

  it('reports a malformed frame as an error event and carries on', () => {
    const c = inSession();
    sockets[0].frame('{not json');
    sockets[0].frame({ type: 'state', tick: 11, ack: 'x', entities: [], removed: [] });
    sockets[0].frame(Buffer.from(JSON.stringify(state(11, 3, [me(111)]))));
    const errs = events('error') as Array<{ kind: string; message: string }>;
    assert.deepEqual(errs.map((e) => e.kind), ['malformed_frame', 'malformed_frame']);
    assert.equal(errs[1].message, 'state.ack must be an integer >= 0');
    assert.equal(c.ack, 3, 'the frame after the bad ones was applied');
    assert.equal(c.inSession, true);
  });

  it('resumes on the next region with the last ack and resends exactly the unacked actions, then new ones', () => {
    const c = inSession();
    sockets[0].frame(state(11, 1, [me(1)]));
    clock = 6000;
    sockets[0].drop(1006);
    assert.deepEqual(events('reconnecting'), [{ attempt: 1, url: 'ws://b/', delayMs: 100, closeCode: 1006 }]);
    const seq4 = c.act(move(1000));  // made while disconnected: kept, not sent yet
    assert.equal(seq4, 4);
    assert.equal(sockets.length, 1);
    timers.fire(100);
    assert.equal(sockets[1].url, 'ws://b/');
    sockets[1].open();
    assert.deepEqual(sockets[1].sent, [{ type: 'hello', token: 'tok', resume: { last_ack: 1 } }]);
    sockets[1].frame(welcome('b', 1));
    assert.deepEqual(sockets[1].sent.slice(1), [
      { type: 'action', seq: 2, kind: 'move', t: 5000, args: { x: 10, y: 0, z: 0 } },
      { type: 'action', seq: 3, kind: 'move', t: 5000, args: { x: 100, y: 0, z: 0 } },
      { type: 'action', seq: 4, kind: 'move', t: 6000, args: { x: 1000, y: 0, z: 0 } },
    ], 'no seen on a new connection before its first frame');
    assert.deepEqual(events('resumed'), [{ url: 'ws://b/', region: 'b', lastAck: 1, resent: [2, 3, 4] }]);
    sockets[1].frame(state(500, 3, [me(111)]));
    assert.equal(c.act(move(1)), 5);
    assert.deepEqual(sockets[1].sent[4], { type: 'action', seq: 5, kind: 'move', t: 6000, args: { x: 1, y: 0, z: 0 }, seen: 500 });
    assert.deepEqual(c.unacked.map((a) => a.seq), [4, 5]);
    assert.deepEqual(c.predicted, { x: 1112 });
    assert.equal(c.corrections, 0);
  });

  it('resends a refused but unacknowledged action on resume, and predicts it again', () => {
    const c = inSession();
    sockets[0].frame({ type: 'reject', seq: 2, reason: 'too_fast', detail: 'd' });
    sockets[0].frame(state(11, 0, [me(0)]));
    assert.deepEqual(c.predicted, { x: 101 });
    sockets[0].drop(1001);
    timers.fire(100);
    sockets[1].open();
    sockets[1].frame(welcome('b'));
    assert.deepEqual(sockets[1].sent.slice(1).map((f) => (f as { seq: number }).seq), [1, 2, 3]);
    sockets[1].frame(state(1, 0, [me(0)]));
    assert.deepEqual(c.predicted, { x: 111 });
  });

  it('backs off, moves round the list, and gives up after maxAttempts without a welcome', () => {
    const c = makeClient(3);
    c.connect();
    sockets[0].drop(1006);  // refused before opening
    timers.fire(100);
    sockets[1].drop(1006);
    timers.fire(200);
    sockets[2].open();
    timers.fire(5000);  // opened, but no welcome: given up as well
    assert.equal(sockets[2].closedByClient, true);
    timers.fire(250);   // capped at maxDelayMs
    sockets[3].drop(1006);
    assert.deepEqual(sockets.map((s) => s.url), ['ws://a/', 'ws://b/', 'ws://c/', 'ws://a/']);
    assert.deepEqual((events('reconnecting') as Array<{ delayMs: number; url: string }>).map((r) => [r.delayMs, r.url]),
      [[100, 'ws://b/'], [200, 'ws://c/'], [250, 'ws://a/']]);
    assert.deepEqual((events('error') as Array<{ kind: string }>).map((e) => e.kind), ['gave_up']);
    assert.equal(events('closed').length, 1);
    assert.deepEqual(timers.pending, []);
    assert.throws(() => c.act(move(1)), /wait for the ready event/);
  });

  it('resets the attempt count after a welcome', () => {
    inSession();
    sockets[0].drop(1006);
    timers.fire(100);
    sockets[1].drop(1006);
    timers.fire(200);
    sockets[2].open();
    sockets[2].frame(welcome('c'));
    sockets[2].drop(1006);
    assert.deepEqual((events('reconnecting') as Array<{ attempt: number }>).map((r) => r.attempt), [1, 2, 1]);
    timers.fire(100);
    assert.equal(sockets.length, 4);
  });

  it('leaves a session that goes silent, and only then', () => {
    const c = inSession();
    assert.deepEqual(timers.pending.map((t) => t.ms), [3000], 'one silence timeout, nothing else');
    for (let tick = 11; tick < 20; ++tick) sockets[0].frame(state(tick, 0, [me(0)]));
    assert.deepEqual(timers.pending.map((t) => t.ms), [3000], 'each frame restarts it, none piles up');
    timers.fire(3000);
    assert.equal(sockets[0].closedByClient, true);
    assert.deepEqual(events('reconnecting'), [{ attempt: 1, url: 'ws://b/', delayMs: 100, closeCode: 1006 }]);
    assert.deepEqual(timers.pending.map((t) => t.ms), [100]);
    timers.fire(100);
    sockets[1].open();
    sockets[1].frame(welcome('b'));
    assert.deepEqual(sockets[1].sent.slice(1).map((f) => (f as { seq: number }).seq), [1, 2, 3]);
    assert.equal(c.inSession, true);
  });

  it('pings during a session and measures the round trip from the matching pong', () => {
    const c = makeClient(3, 1000);
    c.connect();
    sockets[0].open();
    sockets[0].frame(welcome('a'));
    assert.equal(c.rttMs, undefined);
    clock = 7000;
    timers.fire(1000);
    assert.deepEqual(sockets[0].sent[1], { type: 'ping', t: 7000 });
    clock = 7042;
    sockets[0].frame({ type: 'pong', t: 6999, server_ms: 1 });  // not ours: ignored
    assert.equal(c.rttMs, undefined);
    sockets[0].frame({ type: 'pong', t: 7000, server_ms: 123456 });
    assert.equal(c.rttMs, 42);
    clock = 8000;
    sockets[0].frame({ type: 'pong', t: 7000, server_ms: 123456 });  // answered already
    assert.equal(c.rttMs, 42);
    assert.deepEqual(timers.pending.map((t) => t.ms).sort(), [1000, 3000], 'the next ping and the silence timeout');
    sockets[0].drop(1006);
    assert.deepEqual(timers.pending.map((t) => t.ms), [100], 'no ping while disconnected');
  });

  it('stops on a refused token: no reconnect', () => {
    const c = makeClient();
    c.connect();
    sockets[0].open();
    sockets[0].frame({ type: 'error', code: 4011, name: 'auth_failed', message: 'bad signature' });
    sockets[0].drop(1008, 'auth failed');
    assert.deepEqual(events('error'), [{ kind: 'auth_failed', message: 'bad signature',
      frame: { type: 'error', code: 4011, name: 'auth_failed', message: 'bad signature' } }]);
    assert.deepEqual(events('closed'), [{ code: 1008, reason: 'auth failed' }]);
    assert.deepEqual(events('reconnecting'), []);
    assert.deepEqual(timers.pending, []);
    assert.equal(sockets.length, 1);
    assert.equal(c.inSession, false);
  });

  it('treats an error naming a seq as a refusal of that action', () => {
    const c = inSession();
    sockets[0].frame({ type: 'error', code: 4005, name: 'bad_field', message: 'args.aim', seq: 2 });
    sockets[0].frame(state(11, 0, [me(0)]));
    assert.deepEqual(c.predicted, { x: 101 });
    assert.deepEqual((events('error') as Array<{ message: string }>).map((e) => e.message), ['4005 bad_field: args.aim']);
  });

  it('close() stops: no reconnect, no more events from the socket', () => {
    const c = inSession();
    const s = sockets[0];
    c.close();
    assert.equal(s.closedByClient, true);
    assert.deepEqual(events('closed'), [{ code: 1000, reason: 'client closed' }]);
    s.drop(1000);
    assert.deepEqual(events('reconnecting'), []);
    assert.deepEqual(timers.pending, []);
    assert.throws(() => c.act(move(1)), /closed client/);
  });

  it('interpolates the other entities at now − delay, without the local player', () => {
    const c = inSession();
    clock = 6000;
    sockets[0].frame(state(11, 0, [me(0), { id: 2, x: 10, y: 0, z: 0, health: 1 }]));
    clock = 6100;
    sockets[0].frame(state(12, 0, [me(0), { id: 2, x: 20, y: 0, z: 4, health: 1 }]));
    assert.deepEqual(c.interpolated(6125), [{ id: 2, x: 12.5, y: 0, z: 1, health: 1 }]);
    clock = 6150;
    assert.deepEqual(c.interpolated(), [{ id: 2, x: 15, y: 0, z: 2, health: 1 }]);
  });

  it('speaks the binary form when asked: offers only worldline.capnp, sends ClientMessages, reads ServerMessages', () => {
    const c = makeClient(3, 1000, 'capnp');
    assert.equal(c.wireForm, 'capnp');
    c.connect();
    assert.deepEqual(sockets[0].protocols, ['worldline.capnp']);
    assert.equal(sockets[0].binaryType, 'arraybuffer', 'binary frames readable at once');
    sockets[0].open();
    assert.deepEqual(sockets[0].sent, [{ type: 'hello', token: 'tok' }]);
    sockets[0].binFrame({ type: 'welcome', player: 1, region: 'a', tick_hz: 20, ack: 0 });
    sockets[0].binFrame({ type: 'state', tick: 10, ack: 41, entities: [me(0)], removed: [] });
    assert.deepEqual(events('ready'), [{ ack: 41 }]);
    assert.equal(c.act(move(1)), 42);
    assert.deepEqual(sockets[0].sent[1], { type: 'action', seq: 42, kind: 'move', t: 5000, seen: 10,
      args: { x: 1, y: 0, z: 0, target: 0 } });
    clock = 7000;
    timers.fire(1000);
    assert.deepEqual(sockets[0].sent[2], { type: 'ping', t: 7000 });
    clock = 7030;
    sockets[0].binFrame({ type: 'pong', t: 7000, server_ms: 99 });
    assert.equal(c.rttMs, 30);
    sockets[0].binFrame({ type: 'reject', seq: 42, reason: 'too_fast', detail: 'movement budget spent: wait for the next tick' });
    assert.deepEqual(events('reject'), [{ type: 'reject', seq: 42, reason: 'too_fast', detail: 'movement budget spent: wait for the next tick' }]);
    sockets[0].binFrame({ type: 'state', tick: 11, ack: 42, entities: [me(0)], removed: [] });
    assert.deepEqual(events('ack'), [{ ack: 41 }, { ack: 42 }]);
    assert.deepEqual(c.predicted, { x: 0 }, 'the refused move is not replayed');

    // A text frame, and bytes that are no ServerMessage: reported, and the session goes on.
    sockets[0].frame(state(12, 42, [me(0)]));
    sockets[0].frame(new Uint8Array([0x10, 0x01]));
    assert.deepEqual((events('error') as Array<{ kind: string; message: string; raw?: string }>).map((e) => [e.kind, e.message, e.raw]), [
      ['malformed_frame', 'a text frame under worldline.capnp', JSON.stringify(state(12, 42, [me(0)]))],
      ['malformed_frame', 'not a packed ServerMessage: segment 0 (1 words) is cut short', '1001'],
    ]);
    assert.equal(c.inSession, true);

    // Resume: the hello with the last ack, and the unacknowledged actions, in the binary form too.
    assert.equal(c.act(move(2)), 43);
    sockets[0].drop(1006);
    timers.fire(100);
    sockets[1].open();
    sockets[1].binFrame({ type: 'welcome', player: 1, region: 'b', tick_hz: 20, ack: 42 });
    assert.deepEqual(sockets[1].sent, [
      { type: 'hello', token: 'tok', resume: { last_ack: 42 } },
      { type: 'action', seq: 43, kind: 'move', t: 7030, seen: 0, args: { x: 2, y: 0, z: 0, target: 0 } },
    ]);
    assert.deepEqual(events('resumed'), [{ url: 'ws://b/', region: 'b', lastAck: 42, resent: [43] }]);
  });

  it('refuses an unknown wire form when constructed', () => {
    assert.throws(() => new WorldlineClient({ urls: ['ws://a/'], token: 't', wire: 'xml' as 'json', socket: () => new FakeSocket('', []) }),
      /unknown wire form "xml": 'json' or 'capnp'/);
  });
});
