// The SDK against two real `worldline node` processes (regions A and B replicating to each other),
// started by ../test.sh, which passes their ports, A's pid and tokens minted by `worldline token`:
//   WL_PORT_A, WL_PORT_B, WL_PID_A, WL_TOKEN_1, WL_TOKEN_2
// 1. player 1 connects to A, acts, gets the ack and a state frame it reconciles to (exact
//    positions: the nodes spawn everyone at the origin); a move further than the movement budget
//    is clamped by the node, and the client counts the correction;
// 2. player 2, on B, sees player 1 through replication (interpolated); both walk onto the same
//    item and grab it at once: exactly one keeps it, the other hears `refused` (the winner's claim
//    had arrived) or, once the regions' deltas met, `conflict_lost` (its own event);
// 3. A is killed (SIGKILL); player 1's client resumes on B with its last ack, resends the action
//    it made while cut off, and B acknowledges it with the predicted position;
// 4. A is started again (it recovers from its journal and catches up from B), then B is paused
//    (SIGSTOP: its TCP connections stay open): the client hears nothing for silenceTimeoutMs,
//    leaves, and resumes on A, which applies its next action.
// Also: WL_BIN, WL_CONFIG_A, WL_LOG_A (to start A again), WL_PID_B, WL_PIDFILE_A2.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { WorldlineClient, type ClientEvents, type EntityState, type RejectFrame, type SequencedAction } from '../src/index.js';
import { wsSocketFactory } from '../src/node.js';

function env(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run this through clients/ts/test.sh <path to worldline>`);
  return v;
}
const urlA = `ws://127.0.0.1:${env('WL_PORT_A')}/`;
const urlB = `ws://127.0.0.1:${env('WL_PORT_B')}/`;
const STEP_MS = 10000;

/** Resolves with the first `event` whose payload satisfies `pred`; rejects after STEP_MS. */
function waitFor<K extends keyof ClientEvents>(c: WorldlineClient<EntityState>, event: K, what: string,
  pred: (p: ClientEvents[K]) => boolean = () => true): Promise<ClientEvents[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { c.off(event, l); reject(new Error(`timed out waiting for ${what}`)); }, STEP_MS);
    const l = (p: ClientEvents[K]): void => {
      if (!pred(p)) return;
      clearTimeout(timer);
      c.off(event, l);
      resolve(p);
    };
    c.on(event, l);
  });
}

// The built-in rules' move, as a client predicts it: the player goes where it says.
const step = (s: EntityState, a: SequencedAction): EntityState =>
  a.kind === 'move' ? { ...s, x: a.args?.x ?? s.x, y: a.args?.y ?? s.y, z: a.args?.z ?? s.z } : s;
const move = (x: number, z: number) => ({ kind: 'move', args: { x, y: 0, z } });
const xyz = (e: EntityState | undefined) => e && [e.x, e.y, e.z];

const clients: Array<WorldlineClient<EntityState>> = [];
function client(urls: string[], token: string): WorldlineClient<EntityState> {
  const c = new WorldlineClient<EntityState>({
    urls, token, socket: wsSocketFactory, prediction: { step }, silenceTimeoutMs: 600, pingIntervalMs: 200,
    reconnect: { maxAttempts: 6, baseDelayMs: 50, maxDelayMs: 400 },
  });
  const errors: string[] = [];
  c.on('error', (e) => errors.push(`${e.kind}: ${e.message}`));
  (c as unknown as { errors: string[] }).errors = errors;
  clients.push(c);
  return c;
}
const errorsOf = (c: WorldlineClient<EntityState>) => (c as unknown as { errors: string[] }).errors;
let pidA2 = 0;
after(() => {
  for (const c of clients) c.close();
  try { process.kill(Number(env('WL_PID_B')), 'SIGCONT'); } catch { /* gone */ }
  if (pidA2) try { process.kill(pidA2, 'SIGKILL'); } catch { /* gone */ }
});
/** Resolves once GET /healthz on `port` answers 200. */
async function healthy(port: string): Promise<void> {
  for (let i = 0; i < 100; ++i) {
    const ok = await new Promise<boolean>((resolve) => {
      const sock = net.connect(Number(port), '127.0.0.1', () => sock.end('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
      let got = '';
      sock.on('data', (d) => { got += d.toString(); });
      sock.on('close', () => resolve(got.includes('200 OK')));
      sock.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no healthy node on ${port} after 10 s`);
}

describe('the SDK against two real region nodes', () => {
  const p1 = client([urlA, urlB], env('WL_TOKEN_1'));
  const p2 = client([urlB], env('WL_TOKEN_2'));

  it('connects, acts, gets the ack and reconciles to the authoritative state', async () => {
    const ready = waitFor(p1, 'ready', 'ready of player 1');
    p1.connect();
    assert.deepEqual(await ready, { ack: 0 }, 'a new player: nothing processed yet');
    assert.equal(p1.player, 1);
    assert.equal(p1.region, 'region-a');
    assert.deepEqual(xyz(p1.predicted), [0, 0, 0], 'spawned at the origin');

    const acked = waitFor(p1, 'state', 'the frame acknowledging seq 3', (s) => s.frame.ack >= 3);
    assert.equal(p1.act(move(1, 1)), 1);
    assert.equal(p1.act(move(2, 2)), 2);
    assert.equal(p1.act(move(3, 2)), 3);
    assert.deepEqual(xyz(p1.predicted), [3, 0, 2], 'predicted at once, before any answer');
    const { frame } = await acked;
    assert.equal(frame.ack, 3);
    assert.deepEqual(xyz(frame.entities.find((e) => e.id === 1)), [3, 0, 2], 'the node agrees');
    assert.deepEqual(p1.unacked, []);
    assert.deepEqual(xyz(p1.predicted), [3, 0, 2]);
    assert.equal(p1.corrections, 0, 'every move within the budget: nothing to correct');
  });

  it('counts a correction when the node clamps a move the client predicted in full', async () => {
    const acked = waitFor(p1, 'state', 'the frame acknowledging seq 4', (s) => s.frame.ack >= 4);
    assert.equal(p1.act(move(203, 2)), 4);  // 200 units: over move_max_step_ticks (3) × 10
    assert.deepEqual(xyz(p1.predicted), [203, 0, 2]);
    const { frame } = await acked;
    const me = frame.entities.find((e) => e.id === 1)!;
    assert.ok(me.x > 3 && me.x <= 33 + 1e-9 && me.z === 2, `clamped along the way: x = ${me.x}`);
    assert.equal(p1.corrections, 1);
    assert.deepEqual(xyz(p1.predicted), xyz(me), 'the prediction is the node\'s position now');
    // Walk back to a known place once the movement budget has refilled (10 units a tick at 20 Hz).
    await new Promise((r) => setTimeout(r, 600));
    const back = waitFor(p1, 'state', 'the walk back acknowledged', (s) => s.frame.ack >= 5);
    p1.act(move(10, 2));
    await back;
    assert.deepEqual(xyz(p1.predicted), [10, 0, 2]);
  });

  it('a player in region B sees player 1 through replication', async () => {
    const ready = waitFor(p2, 'ready', 'ready of player 2');
    p2.connect();
    await ready;
    assert.equal(p2.region, 'region-b');
    await waitFor(p2, 'state', 'B shows player 1 at (10, 0, 2)',
      (s) => xyz(s.frame.entities.find((e) => e.id === 1))?.join() === '10,0,2');
    await waitFor(p2, 'state', 'a second frame');
    assert.deepEqual(xyz(p2.interpolated().find((e) => e.id === 1)), [10, 0, 2]);
  });

  it('two players grab one item in two regions: one loses, told as the protocol says', async () => {
    const item = p1.interpolated().filter((e) => e.item && !e.owner).sort((a, b) => a.id - b.id)[0];
    assert.ok(item && item.id >= 1e12, `an unclaimed item in sight of player 1: ${JSON.stringify(item)}`);
    assert.ok(p2.interpolated().some((e) => e.id === item.id), 'and of player 2');
    const verdict = (c: WorldlineClient<EntityState>, seq: number, who: string) =>
      new Promise<string>((resolve, reject) => {
        const t0 = Date.now();
        const timer = setTimeout(() => reject(new Error(`no verdict for ${who}`)), STEP_MS);
        const onReject = (r: RejectFrame) => { if (r.seq === seq) done(`reject:${r.reason}`); };
        const onLost = (r: RejectFrame) => { if (r.seq === seq) done('conflictLost'); };
        const onState = (st: ClientEvents['state']) => { if (st.frame.ack >= seq && Date.now() > t0 + 1500) done('kept'); };
        const done = (v: string) => {
          clearTimeout(timer);
          c.off('reject', onReject).off('conflictLost', onLost).off('state', onState);
          resolve(v);
        };
        c.on('reject', onReject).on('conflictLost', onLost).on('state', onState);
      });
    const pickup = { kind: 'pickup', args: { target: item.id } };
    p1.act(move(item.x, item.z));
    const s1 = p1.act(pickup);
    p2.act(move(item.x, item.z));
    const s2 = p2.act(pickup);
    assert.deepEqual([s1, s2], [7, 2]);
    const [v1, v2] = await Promise.all([verdict(p1, s1, 'player 1'), verdict(p2, s2, 'player 2')]);
    const outcomes = [v1, v2].sort();
    assert.ok(outcomes[1] === 'kept' && ['conflictLost', 'reject:refused'].includes(outcomes[0]),
      `exactly one grab lost: player 1 ${v1}, player 2 ${v2}`);
    const winner = v1 === 'kept' ? 1 : 2;
    for (const [c, name] of [[p1, 'A'], [p2, 'B']] as const) {
      await waitFor(c, 'state', `region ${name} shows the item owned by player ${winner}`,
        (st) => st.frame.entities.find((e) => e.id === item.id)?.owner === winner);
    }
    console.log(`# item ${item.id}: player ${winner} kept it; player 1 ${v1}, player 2 ${v2}`);
    // Back to where the next steps expect player 1.
    const back = waitFor(p1, 'state', 'player 1 back at (10, 0, 2)', (st) => st.frame.ack >= 8);
    p1.act(move(10, 2));
    await back;
    assert.deepEqual(xyz(p1.predicted), [10, 0, 2]);
    assert.equal(p1.corrections, 1);
  });

  it('resumes on region B when A is killed, with its last ack, and B applies the resent action', async () => {
    const reconnecting = waitFor(p1, 'reconnecting', 'reconnecting after A died');
    const resumed = waitFor(p1, 'resumed', 'resumed on B');
    process.kill(Number(env('WL_PID_A')), 'SIGKILL');
    const killedAt = Date.now();
    const r = await reconnecting;
    assert.equal(r.url, urlB);
    assert.equal(r.attempt, 1);
    const seq = p1.act(move(12, 3));  // made while cut off: kept for the next session
    assert.equal(seq, 9);
    const acked = waitFor(p1, 'state', 'B acknowledging seq 9', (s) => s.frame.ack >= 9);
    assert.deepEqual(await resumed, { url: urlB, region: 'region-b', lastAck: 8, resent: [9] });
    const { frame } = await acked;
    assert.equal(frame.ack, 9);
    assert.deepEqual(xyz(frame.entities.find((e) => e.id === 1)), [12, 0, 3]);
    assert.deepEqual(xyz(p1.predicted), [12, 0, 3]);
    assert.deepEqual(p1.unacked, []);
    assert.equal(p1.corrections, 1, 'no correction after the one clamped move');
    console.log(`# acting again in B ${Date.now() - killedAt} ms after A was killed`);
    assert.ok(p2.rttMs !== undefined && p2.rttMs < 1000, `player 2's pings answered (rtt ${p2.rttMs} ms)`);
    assert.deepEqual(errorsOf(p1), []);
    assert.deepEqual(errorsOf(p2), []);
  });

  it('leaves a paused region B when it goes silent and resumes on A, started again', async () => {
    const log = fs.openSync(env('WL_LOG_A'), 'a');
    const a2 = spawn(env('WL_BIN'), ['node', '--config', env('WL_CONFIG_A')], { stdio: ['ignore', log, log] });
    pidA2 = a2.pid!;
    fs.writeFileSync(env('WL_PIDFILE_A2'), String(pidA2));
    await healthy(env('WL_PORT_A'));
    // A catches up from B (the move of seq 9 was made in B only): a player on A sees it.
    const p3 = client([urlA], env('WL_TOKEN_3'));
    p3.connect();
    await waitFor(p3, 'state', 'A, started again, shows player 1 at (12, 0, 3)',
      (s) => xyz(s.frame.entities.find((e) => e.id === 1))?.join() === '12,0,3');
    const reconnecting = waitFor(p1, 'reconnecting', 'reconnecting after B went silent');
    const resumed = waitFor(p1, 'resumed', 'resumed on A');
    process.kill(Number(env('WL_PID_B')), 'SIGSTOP');
    const pausedAt = Date.now();
    const r = await reconnecting;
    assert.equal(r.url, urlA);
    assert.equal(r.closeCode, 1006);
    assert.deepEqual(await resumed, { url: urlA, region: 'region-a', lastAck: 9, resent: [] });
    const acked = waitFor(p1, 'state', 'A acknowledging seq 10', (s) => s.frame.ack >= 10);
    assert.equal(p1.act(move(13, 3)), 10);
    const { frame } = await acked;
    assert.equal(frame.ack, 10);
    assert.deepEqual(xyz(frame.entities.find((e) => e.id === 1)), [13, 0, 3]);
    assert.deepEqual(xyz(p1.predicted), [13, 0, 3]);
    assert.equal(p1.corrections, 1);
    console.log(`# acting again in A ${Date.now() - pausedAt} ms after B was paused`);
    process.kill(Number(env('WL_PID_B')), 'SIGCONT');
    assert.deepEqual(errorsOf(p1), []);
    assert.deepEqual(errorsOf(p3), []);
  });
});
