// The SDK against two real `worldline node` processes (regions A and B replicating to each other),
// started by ../test.sh, which passes their ports, A's pid and tokens minted by `worldline token`:
//   WL_PORT_A, WL_PORT_B, WL_PID_A, WL_TOKEN_1, WL_TOKEN_2, WL_TOKEN_3
// 1. player 1 connects to A, acts, gets the ack and a state frame it reconciles to (exact
//    positions: the nodes spawn everyone at the origin); a move further than one move may go is
//    clamped by the node to exactly 30 units, and the client counts the correction;
// 2. player 2, on B, sees player 1 through replication (interpolated); both walk onto the same
//    item and grab it at once: exactly one keeps it (the owner both regions agree on), the other
//    hears `refused` (the winner's claim had arrived) or, once the regions' deltas met,
//    `conflict_lost` (its own claim was granted, then lost), each with the node's exact detail;
// 3. A is killed (SIGKILL); player 1's client resumes on B with its last ack, resends the action
//    it made while cut off, and B acknowledges it with the predicted position;
// 4. A is started again (it recovers from its journal and catches up from B), then B is paused
//    (SIGSTOP: its TCP connections stay open): the client hears nothing for silenceTimeoutMs,
//    leaves, and resumes on A, which applies its next action.
// Also: WL_BIN, WL_CONFIG_A, WL_LOG_A (to start A again), WL_PID_B, WL_PIDFILE_A2, and WL_WIRE:
// the wire form every client speaks, `json` or `capnp` (test.sh runs the test once with each,
// against fresh nodes); the last step checks every session spoke it.
// Every wait is for a condition (an event, a frame showing something), bounded by DEADLINE_MS; a
// step after a failed one is skipped, naming the failed step, so the first failure is the one to read.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { after, describe, it } from 'node:test';
import type { EntityState, SequencedAction, WireForm } from '../src/index.js';
import { DEADLINE_MS, env, healthy, until, waitFor, watchedClient, type Watch } from './harness.js';

const urlA = `ws://127.0.0.1:${env('WL_PORT_A')}/`;
const urlB = `ws://127.0.0.1:${env('WL_PORT_B')}/`;
const WIRE = env('WL_WIRE') as WireForm;
const SUBPROTOCOL = { json: 'worldline.json', capnp: 'worldline.capnp' }[WIRE];
if (!SUBPROTOCOL) throw new Error(`WL_WIRE=${WIRE}: json or capnp`);
const FIRST_ITEM = 1_000_000_000_000;  // items are numbered from 10^12 (gateway: region items)
// A live node sends a frame every tick (50 ms at 20 Hz); 1.5 s of nothing is a paused node, with
// a margin for an ASan node's commit on a busy disk (test.sh prints the longest gap seen).
const SILENCE_MS = 1500;
const RECONNECT = { maxAttempts: 6, baseDelayMs: 50, maxDelayMs: 400 };

// The built-in rules' move, as a client predicts it: the player goes where it says.
const step = (s: EntityState, a: SequencedAction): EntityState =>
  a.kind === 'move' ? { ...s, x: a.args?.x ?? s.x, y: a.args?.y ?? s.y, z: a.args?.z ?? s.z } : s;
const move = (x: number, z: number) => ({ kind: 'move', args: { x, y: 0, z } });
const xyz = (e: EntityState | undefined) => e && [e.x, e.y, e.z];
const own = (w: Watch, f = w.last) => f?.entities.find((e) => e.id === w.client.player);

const watches: Watch[] = [];
function player(name: string, urls: string[], token: string): Watch {
  const w = watchedClient(name, WIRE, urls, token, {
    prediction: { step }, silenceTimeoutMs: SILENCE_MS, pingIntervalMs: 200, reconnect: RECONNECT,
  });
  watches.push(w);
  return w;
}

let pidA2 = 0;
after(() => {
  for (const w of watches) w.client.close();
  try { process.kill(Number(env('WL_PID_B')), 'SIGCONT'); } catch { /* gone */ }
  if (pidA2) try { process.kill(pidA2, 'SIGKILL'); } catch { /* gone */ }
  for (const w of watches) console.log(`# ${w.name}: longest silence between two frames ${w.maxGapMs} ms`);
});

// Steps run in order and build on each other: after a failure the rest are skipped, saying why.
let failed: string | undefined;
function scenarioStep(name: string, fn: () => Promise<void>): void {
  it(name, { timeout: 3 * DEADLINE_MS }, async (t) => {
    if (failed) return t.skip(`skipped: the step "${failed}" failed`);
    try {
      await fn();
    } catch (e) {
      failed = name;
      throw e;
    }
  });
}

describe(`the SDK against two real region nodes, wire form ${WIRE}`, () => {
  const p1 = player('player 1', [urlA, urlB], env('WL_TOKEN_1'));
  const p2 = player('player 2', [urlB], env('WL_TOKEN_2'));
  const c1 = p1.client;
  const c2 = p2.client;

  scenarioStep('connects, acts, gets the ack and reconciles to the authoritative state', async () => {
    const ready = waitFor(p1, 'ready', 'the ready event of player 1 (welcome and a first state frame from A)');
    c1.connect();
    assert.deepEqual(await ready, { ack: 0 }, 'a new player: nothing processed yet');
    assert.equal(c1.player, 1);
    assert.equal(c1.region, 'region-a');
    assert.deepEqual(xyz(c1.predicted), [0, 0, 0], 'spawned at the origin');

    const acked = waitFor(p1, 'state', 'the frame from A acknowledging seq 3', (s) => s.frame.ack >= 3);
    assert.equal(c1.act(move(1, 1)), 1);
    assert.equal(c1.act(move(2, 2)), 2);
    assert.equal(c1.act(move(3, 2)), 3);
    assert.deepEqual(xyz(c1.predicted), [3, 0, 2], 'predicted at once, before any answer');
    const { frame, reconciliation } = await acked;
    assert.equal(frame.ack, 3);
    assert.deepEqual(xyz(own(p1, frame)), [3, 0, 2], 'the node agrees');
    assert.deepEqual(reconciliation.replayed, [], 'nothing left to replay');
    assert.deepEqual(c1.unacked, []);
    assert.deepEqual(xyz(c1.predicted), [3, 0, 2]);
    assert.equal(c1.corrections, 0, 'every move within the budget: nothing to correct');
  });

  scenarioStep('counts a correction when the node clamps a move the client predicted in full', async () => {
    // One move goes at most move_max_step_ticks (3) × max_speed_per_tick (10) = 30 units while the
    // credit is >= 0 (region/move_budget.h): the three moves above spent 3.83 of the 10 a first
    // move starts with, so this 200-unit move stops at exactly x = 3 + 30.
    const acked = waitFor(p1, 'state', 'the frame from A acknowledging seq 4', (s) => s.frame.ack >= 4);
    assert.equal(c1.act(move(203, 2)), 4);
    assert.deepEqual(xyz(c1.predicted), [203, 0, 2]);
    const { frame } = await acked;
    assert.equal(frame.ack, 4);
    assert.deepEqual(xyz(own(p1, frame)), [33, 0, 2], 'clamped to 30 units along the way');
    assert.equal(c1.corrections, 1);
    assert.deepEqual(xyz(c1.predicted), [33, 0, 2], 'the prediction is the node\'s position now');
    // Back to a known place: 23 units, granted in full in any later tick (the credit is at least
    // 16.17 − 30 after the clamp, 10 comes back per tick, and a move may run 30 ahead of it).
    const back = waitFor(p1, 'state', 'the frame from A acknowledging the walk back (seq 5)', (s) => s.frame.ack >= 5);
    assert.equal(c1.act(move(10, 2)), 5);
    const b = await back;
    assert.deepEqual(xyz(own(p1, b.frame)), [10, 0, 2]);
    assert.deepEqual(xyz(c1.predicted), [10, 0, 2]);
    assert.equal(c1.corrections, 1, 'the walk back needed no correction');
  });

  scenarioStep('a player in region B sees player 1 through replication', async () => {
    const ready = waitFor(p2, 'ready', 'the ready event of player 2 (welcome and a first state frame from B)');
    c2.connect();
    assert.deepEqual(await ready, { ack: 0 });
    assert.equal(c2.player, 2);
    assert.equal(c2.region, 'region-b');
    assert.deepEqual(xyz(c2.predicted), [0, 0, 0]);
    await waitFor(p2, 'state', 'a frame from B showing player 1 at (10, 0, 2)',
      (s) => xyz(s.frame.entities.find((e) => e.id === 1))?.join() === '10,0,2');
    await waitFor(p2, 'state', 'a second frame from B');
    // Both frames the interpolation draws between show it there.
    assert.deepEqual(xyz(c2.interpolated().find((e) => e.id === 1)), [10, 0, 2]);
  });

  scenarioStep('two players grab one item in two regions: one loses, told as the protocol says', async () => {
    const item = c1.interpolated().filter((e) => e.item && !e.owner).sort((a, b) => a.id - b.id)[0];
    assert.equal(item?.id, FIRST_ITEM, `the first item, unclaimed, in sight of player 1: ${JSON.stringify(item)}`);
    assert.deepEqual(c2.interpolated().find((e) => e.id === item.id), item, 'and of player 2, at the same place');
    const pickup = { kind: 'pickup', args: { target: item.id } };
    c1.act(move(item.x, item.z));
    const s1 = c1.act(pickup);
    c2.act(move(item.x, item.z));
    const s2 = c2.act(pickup);
    assert.deepEqual([s1, s2], [7, 2]);

    // The owner is what both regions show once they agree: a region shows its own grant until the
    // other's claim arrives, then first-claim-wins gives both the same answer for good.
    const ownerIn = (w: Watch) => w.last?.entities.find((e) => e.id === item.id)?.owner;
    await until([p1, p2], `regions A and B showing item ${item.id} owned by the same player`,
      () => ownerIn(p1) !== undefined && ownerIn(p1) === ownerIn(p2));
    const winner = ownerIn(p1)!;
    assert.ok(winner === 1 || winner === 2, `owned by one of the two: ${winner}`);
    const [w, l, sl] = winner === 1 ? [p1, p2, s2] : [p2, p1, s1];
    const toldL = () => [...l.rejects, ...l.conflictsLost].filter((r) => r.seq === sl);
    await until([p1, p2], `the decided grabs (acks >= ${s1} and ${s2}) and ${l.name}'s refusal of seq ${sl}`,
      () => c1.ack >= s1 && c2.ack >= s2 && toldL().length > 0);
    const [told] = toldL();
    assert.deepEqual(toldL(), [told], `${l.name} told once`);
    if (told.reason === 'refused') {
      // The winner's claim, stamped by the HLC of its region: player 1 claimed in A (replica 1),
      // player 2 in B (replica 2), as docs/protocol.md writes it: `already claimed by <player>
      // at <hlc>`.
      const replica = winner === 1 ? 1 : 2;
      assert.match(told.detail, new RegExp(`^already claimed by ${winner} at \\d+\\.\\d+@${replica}$`),
        'refused because the winner\'s claim had arrived');
      assert.deepEqual(l.conflictsLost, []);
    } else {
      assert.deepEqual(told, { type: 'reject', seq: sl, reason: 'conflict_lost',
        detail: `item ${item.id} went to player ${winner}: an earlier claim in another region won` });
      assert.deepEqual(l.rejects, [], 'granted first, so not refused');
    }
    assert.deepEqual([...w.rejects, ...w.conflictsLost], [], `${w.name} kept it: nothing refused`);
    assert.deepEqual([c1.unacked, c2.unacked], [[], []]);
    console.log(`# item ${item.id}: ${w.name} kept it; ${l.name} heard ${told.reason} (${told.detail})`);

    // Back to where the next steps expect player 1.
    const back = waitFor(p1, 'state', 'the frame from A acknowledging seq 8 (back at (10, 0, 2))', (st) => st.frame.ack >= 8);
    assert.equal(c1.act(move(10, 2)), 8);
    await back;
    assert.deepEqual(xyz(own(p1)), [10, 0, 2]);
    assert.deepEqual(xyz(c1.predicted), [10, 0, 2]);
    assert.equal(c1.corrections, 1);
  });

  scenarioStep('resumes on region B when A is killed, with its last ack, and B applies the resent action', async () => {
    const reconnecting = waitFor(p1, 'reconnecting', 'player 1 reconnecting after A was killed');
    const resumed = waitFor(p1, 'resumed', 'player 1 resumed on B');
    process.kill(Number(env('WL_PID_A')), 'SIGKILL');
    const killedAt = Date.now();
    assert.deepEqual(await reconnecting, { attempt: 1, url: urlB, delayMs: RECONNECT.baseDelayMs, closeCode: 1006 });
    const seq = c1.act(move(12, 3));  // made while cut off: kept for the next session
    assert.equal(seq, 9);
    const acked = waitFor(p1, 'state', 'the frame from B acknowledging seq 9', (s) => s.frame.ack >= 9);
    assert.deepEqual(await resumed, { url: urlB, region: 'region-b', lastAck: 8, resent: [9] });
    const { frame } = await acked;
    assert.equal(frame.ack, 9);
    assert.deepEqual(xyz(own(p1, frame)), [12, 0, 3]);
    assert.deepEqual(xyz(c1.predicted), [12, 0, 3]);
    assert.deepEqual(c1.unacked, []);
    assert.equal(c1.corrections, 1, 'no correction after the one clamped move');
    console.log(`# acting again in B ${Date.now() - killedAt} ms after A was killed`);
    assert.ok(c2.rttMs !== undefined && c2.rttMs >= 0 && c2.rttMs < DEADLINE_MS,
      `player 2's pings answered (rtt ${c2.rttMs} ms)`);
    assert.deepEqual(p1.errors, []);
    assert.deepEqual(p2.errors, []);
    assert.deepEqual(p2.reconnects, [], 'player 2 stayed on B');
  });

  scenarioStep('leaves a paused region B when it goes silent and resumes on A, started again', async () => {
    const log = fs.openSync(env('WL_LOG_A'), 'a');
    const a2 = spawn(env('WL_BIN'), ['node', '--config', env('WL_CONFIG_A')], { stdio: ['ignore', log, log] });
    pidA2 = a2.pid!;
    fs.writeFileSync(env('WL_PIDFILE_A2'), String(pidA2));
    let exit: string | undefined;
    a2.on('exit', (code, signal) => { exit = `exit code ${code}, signal ${signal}`; });
    await healthy(Number(env('WL_PORT_A')), 'region A, started again', 3 * DEADLINE_MS, () => exit);
    // A catches up from B (the move of seq 9 was made in B only): a player on A sees it.
    const p3 = player('player 3', [urlA], env('WL_TOKEN_3'));
    const seen = waitFor(p3, 'state', 'a frame from A, started again, showing player 1 at (12, 0, 3)',
      (s) => xyz(s.frame.entities.find((e) => e.id === 1))?.join() === '12,0,3');
    p3.client.connect();
    await seen;
    const reconnecting = waitFor(p1, 'reconnecting', 'player 1 reconnecting after B went silent');
    const resumed = waitFor(p1, 'resumed', 'player 1 resumed on A');
    process.kill(Number(env('WL_PID_B')), 'SIGSTOP');
    const pausedAt = Date.now();
    assert.deepEqual(await reconnecting, { attempt: 1, url: urlA, delayMs: RECONNECT.baseDelayMs, closeCode: 1006 });
    assert.deepEqual(await resumed, { url: urlA, region: 'region-a', lastAck: 9, resent: [] });
    const acked = waitFor(p1, 'state', 'the frame from A acknowledging seq 10', (s) => s.frame.ack >= 10);
    assert.equal(c1.act(move(13, 3)), 10);
    const { frame } = await acked;
    assert.equal(frame.ack, 10);
    assert.deepEqual(xyz(own(p1, frame)), [13, 0, 3]);
    assert.deepEqual(xyz(c1.predicted), [13, 0, 3]);
    assert.equal(c1.corrections, 1);
    console.log(`# acting again in A ${Date.now() - pausedAt} ms after B was paused`);
    process.kill(Number(env('WL_PID_B')), 'SIGCONT');
    assert.deepEqual(p1.errors, []);
    assert.deepEqual(p3.errors, []);
    assert.equal(p1.reconnects.length, 2, 'player 1 left a region twice: A killed, B paused');
    assert.deepEqual(p3.reconnects, []);
  });

  scenarioStep(`every session spoke ${SUBPROTOCOL}: the subprotocol the node agreed to, and only ${WIRE === 'json' ? 'text' : 'binary'} frames`, async () => {
    const kind = WIRE === 'json' ? 'text' : 'binary';
    const spoken = watches.map((w) => [w.name, w.protocols, [...w.frameKinds]]);
    assert.deepEqual(spoken, [
      ['player 1', [SUBPROTOCOL, SUBPROTOCOL, SUBPROTOCOL], [kind]],  // A, B after A was killed, A again
      ['player 2', [SUBPROTOCOL], [kind]],
      ['player 3', [SUBPROTOCOL], [kind]],
    ]);
  });
});
