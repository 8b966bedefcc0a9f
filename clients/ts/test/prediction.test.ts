import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Predictor } from '../src/prediction.js';
import type { EntityState, SequencedAction } from '../src/protocol.js';

// A step that adds the move's x, y, z to the position: replaying a wrong set of inputs, or the
// right ones in the wrong number, lands somewhere else.
interface P { x: number; y: number; z: number }
const stepped: number[] = [];
const step = (s: P, a: SequencedAction): P => {
  stepped.push(a.seq);
  return { x: s.x + (a.args?.x ?? 0), y: s.y + (a.args?.y ?? 0), z: s.z + (a.args?.z ?? 0) };
};
const move = (seq: number, dx: number): SequencedAction => ({ seq, t: 0, kind: 'move', args: { x: dx, y: 0, z: 0 } });
const me = (x: number): EntityState => ({ id: 1, x, y: 0, z: 0, health: 100 });
const fromEntity = (e: EntityState): P => ({ x: e.x, y: e.y, z: e.z });

describe('Predictor', () => {
  it('predicts nothing before the first frame, then replays exactly the unacknowledged inputs', () => {
    const p = new Predictor<P>({ step, fromEntity });
    for (let seq = 1; seq <= 5; ++seq) p.apply(move(seq, seq));  // dx = 1, 2, 3, 4, 5
    assert.equal(p.predicted, undefined);
    stepped.length = 0;
    const r = p.reconcile(2, me(100));
    assert.deepEqual(r.replayed, [3, 4, 5]);
    assert.deepEqual(stepped, [3, 4, 5]);
    assert.deepEqual(p.unacked.map((a) => a.seq), [3, 4, 5]);
    assert.deepEqual(p.predicted, { x: 112, y: 0, z: 0 });
    assert.equal(p.ack, 2);
    assert.equal(p.corrections, 0, 'the first frame corrects nothing: there was no prediction');
  });

  it('applies a new input to the prediction at once', () => {
    const p = new Predictor<P>({ step, fromEntity });
    p.reconcile(0, me(0));
    p.apply(move(1, 7));
    assert.deepEqual(p.predicted, { x: 7, y: 0, z: 0 });
  });

  it('counts a correction only when the replayed prediction moved beyond epsilon', () => {
    const p = new Predictor<P>({ step, fromEntity, epsilon: 0.01 });
    p.reconcile(0, me(0));
    p.apply(move(1, 1));
    p.apply(move(2, 1));
    p.apply(move(3, 1));  // predicted x = 3
    // The node applied 1 and 2 as predicted (x = 2): replaying 3 gives 3 again.
    let r = p.reconcile(2, me(2));
    assert.deepEqual(r, { replayed: [3], corrected: false });
    assert.equal(p.corrections, 0);
    // Within epsilon: no correction.
    r = p.reconcile(2, me(2.005));
    assert.equal(r.corrected, false);
    assert.equal(p.corrections, 0);
    // The node clamped move 3 (x = 2.5 instead of 3): a correction, and the prediction follows it.
    r = p.reconcile(3, me(2.5));
    assert.deepEqual(r, { replayed: [], corrected: true });
    assert.equal(p.corrections, 1);
    assert.deepEqual(p.predicted, { x: 2.5, y: 0, z: 0 });
    assert.deepEqual(p.unacked, []);
  });

  it('does not replay a refused input, and replays it again once refusals are reset', () => {
    const p = new Predictor<P>({ step, fromEntity });
    p.reconcile(0, me(0));
    for (let seq = 1; seq <= 3; ++seq) p.apply(move(seq, 10 ** (seq - 1)));  // 1, 10, 100
    assert.equal(p.refuse(2), true);
    assert.equal(p.refuse(9), false);
    let r = p.reconcile(0, me(0));
    assert.deepEqual(r.replayed, [1, 3]);
    assert.deepEqual(p.predicted, { x: 101, y: 0, z: 0 });
    assert.deepEqual(p.unacked.map((a) => a.seq), [1, 2, 3], 'a refused input stays unacked until the ack covers it');
    p.resetRefusals();
    r = p.reconcile(0, me(0));
    assert.deepEqual(r.replayed, [1, 2, 3]);
    assert.deepEqual(p.predicted, { x: 111, y: 0, z: 0 });
  });

  it('never lets the ack go back, and keeps the prediction when the frame lacks the player', () => {
    const p = new Predictor<P>({ step, fromEntity });
    p.reconcile(0, me(0));
    for (let seq = 1; seq <= 3; ++seq) p.apply(move(seq, 1));
    p.reconcile(2, undefined);
    assert.deepEqual(p.unacked.map((a) => a.seq), [3]);
    assert.deepEqual(p.predicted, { x: 3, y: 0, z: 0 });
    const r = p.reconcile(1, me(2));  // an older ack (another region not yet caught up)
    assert.equal(p.ack, 2);
    assert.deepEqual(r.replayed, [3]);
    assert.deepEqual(p.predicted, { x: 3, y: 0, z: 0 });
  });

  it('refuses an input whose seq is not above the last', () => {
    const p = new Predictor<P>({ step, fromEntity });
    p.apply(move(4, 1));
    assert.throws(() => p.apply(move(4, 1)), /input seq 4 is not above the last one, 4/);
  });

  it('defaults to the entity itself and the x, y, z distance', () => {
    const p = new Predictor<EntityState>({ step: (s, a) => ({ ...s, x: a.args?.x ?? s.x }) });
    p.reconcile(0, me(0));
    p.apply(move(1, 5));
    assert.deepEqual(p.predicted, { id: 1, x: 5, y: 0, z: 0, health: 100 });
    p.reconcile(0, { ...me(0), health: 50 });
    assert.equal(p.corrections, 0, 'health differs, the position does not: no correction by default');
    assert.equal(p.predicted?.health, 50);
  });
});
