// Client-side prediction and reconciliation of the local player (docs/protocol.md, "state"):
// inputs are applied at once through the game's own step function; on every state frame the
// prediction is reset to the authoritative state, the inputs the frame acknowledges are dropped,
// and the rest are replayed. No I/O: the client feeds it, tests drive it directly.

import type { EntityState, SequencedAction } from './protocol.js';

/**
 * The game's rules as the client predicts them: the state after `input`, from `state`.
 * It must be pure (the same arguments give the same result): inputs are replayed.
 */
export type StepFunction<S> = (state: S, input: SequencedAction) => S;

/** How to predict the local player. */
export interface PredictionOptions<S> {
  /** The game's step function. */
  step: StepFunction<S>;
  /** The predicted state from the player's entity in a state frame. Default: the entity itself. */
  fromEntity?: (entity: EntityState) => S;
  /** How far apart two predictions are. Default: the Euclidean distance of `x`, `y`, `z`. */
  distance?: (a: S, b: S) => number;
  /** A replayed prediction further than this from the one before the frame is a correction. Default 1e-6. */
  epsilon?: number;
}

interface Pending {
  action: SequencedAction;
  /** Refused (reject or error with its seq): not replayed, the node did not apply it. */
  refused: boolean;
}

/** What one reconciliation did. */
export interface Reconciliation {
  /** The seqs replayed on top of the authoritative state, in order. */
  replayed: number[];
  /** Whether the new prediction differs from the previous one by more than epsilon. */
  corrected: boolean;
}

const xyzDistance = (a: unknown, b: unknown): number => {
  const p = a as { x?: number; y?: number; z?: number };
  const q = b as { x?: number; y?: number; z?: number };
  return Math.hypot((p.x ?? 0) - (q.x ?? 0), (p.y ?? 0) - (q.y ?? 0), (p.z ?? 0) - (q.z ?? 0));
};

/**
 * The local player's predicted state and its unacknowledged inputs.
 *
 * Invariant: `unacked` holds the inputs with seq > the highest ack seen, in seq order; the
 * prediction is the last authoritative state with the unrefused ones applied in that order.
 */
export class Predictor<S> {
  private readonly step: StepFunction<S>;
  private readonly fromEntity: (entity: EntityState) => S;
  private readonly distance: (a: S, b: S) => number;
  private readonly epsilon: number;
  private pending: Pending[] = [];
  private state: S | undefined;
  private ackSeen = 0;
  private correctionCount = 0;

  constructor(options: PredictionOptions<S>) {
    this.step = options.step;
    this.fromEntity = options.fromEntity ?? ((e) => ({ ...e }) as unknown as S);
    this.distance = options.distance ?? xyzDistance;
    this.epsilon = options.epsilon ?? 1e-6;
  }

  /** The predicted state of the local player; undefined before the first state frame shows it. */
  get predicted(): S | undefined {
    return this.state;
  }

  /** How many state frames moved the prediction by more than epsilon. */
  get corrections(): number {
    return this.correctionCount;
  }

  /** The highest ack applied so far. */
  get ack(): number {
    return this.ackSeen;
  }

  /** The inputs not yet acknowledged, refused ones included, in seq order. */
  get unacked(): SequencedAction[] {
    return this.pending.map((p) => p.action);
  }

  /** Records a new input and applies it to the prediction. REQUIRES: seq above every earlier one. */
  apply(action: SequencedAction): void {
    const last = this.pending[this.pending.length - 1];
    if (last && action.seq <= last.action.seq) {
      throw new Error(`input seq ${action.seq} is not above the last one, ${last.action.seq}`);
    }
    this.pending.push({ action, refused: false });
    if (this.state !== undefined) this.state = this.step(this.state, action);
  }

  /**
   * The node refused `seq` (a reject, or an error naming the seq): it is not replayed any more,
   * and the prediction is rebuilt at the next state frame. Returns whether it was pending.
   */
  refuse(seq: number): boolean {
    const p = this.pending.find((q) => q.action.seq === seq);
    if (p) p.refused = true;
    return p !== undefined;
  }

  /**
   * After a reconnect every unacknowledged input is sent again and decided anew, so earlier
   * refusals no longer hold.
   */
  resetRefusals(): void {
    for (const p of this.pending) p.refused = false;
  }

  /**
   * Reconciles with a state frame: drops the inputs with seq ≤ `ack`, resets to `entity` (the
   * local player's authoritative state; absent: the prediction is left as it is, only the
   * acknowledged inputs are dropped), replays the rest. Returns what it replayed.
   */
  reconcile(ack: number, entity: EntityState | undefined): Reconciliation {
    if (ack > this.ackSeen) this.ackSeen = ack;
    this.pending = this.pending.filter((p) => p.action.seq > this.ackSeen);
    if (entity === undefined) return { replayed: [], corrected: false };
    let s = this.fromEntity(entity);
    const replayed: number[] = [];
    for (const p of this.pending) {
      if (p.refused) continue;
      s = this.step(s, p.action);
      replayed.push(p.action.seq);
    }
    const before = this.state;
    this.state = s;
    const corrected = before !== undefined && this.distance(before, s) > this.epsilon;
    if (corrected) ++this.correctionCount;
    return { replayed, corrected };
  }
}
