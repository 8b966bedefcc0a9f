// Interpolation of the entities the client does not predict (other players, items) between the
// last two state frames, drawn at render time = now − interpolation delay, so that a client
// drawing at 60 Hz sees smooth motion from 20-Hz frames. Pure functions and a two-frame buffer.

import type { EntityState } from './protocol.js';

/** A state frame's entities as received, stamped with the local clock (milliseconds). */
export interface Snapshot {
  /** When the frame arrived, in the caller's clock (e.g. `performance.now()` or `Date.now()`). */
  time: number;
  entities: readonly EntityState[];
}

/**
 * The entities at `renderTime`, between snapshot `a` (older) and `b` (newer).
 *
 * - The fraction is (renderTime − a.time) / (b.time − a.time), clamped to [0, 1]: no
 *   extrapolation past `b`, nothing older than `a`.
 * - An entity in both snapshots has its `x`, `y`, `z` interpolated linearly; its other fields
 *   (health, owner, …) are `b`'s once the fraction is above 0, `a`'s at 0.
 * - An entity only in `b` (it just came into view) is shown as in `b`; one only in `a` (it left
 *   or was removed) is not shown.
 * - `exclude` (the local player, which is predicted instead) is left out.
 *
 * The result follows `b`'s order.
 */
export function interpolateEntities(
  a: Snapshot,
  b: Snapshot,
  renderTime: number,
  exclude?: number,
): EntityState[] {
  const span = b.time - a.time;
  const f = span <= 0 ? 1 : Math.min(1, Math.max(0, (renderTime - a.time) / span));
  const older = new Map<number, EntityState>();
  for (const e of a.entities) older.set(e.id, e);
  const out: EntityState[] = [];
  for (const e of b.entities) {
    if (e.id === exclude) continue;
    const o = older.get(e.id);
    if (o === undefined) {
      out.push({ ...e });
    } else if (f === 0) {
      out.push({ ...o });
    } else {
      out.push({ ...e, x: lerp(o.x, e.x, f), y: lerp(o.y, e.y, f), z: lerp(o.z, e.z, f) });
    }
  }
  return out;
}

/** a + (b − a)·f, exact at f = 0 and f = 1. */
export function lerp(a: number, b: number, f: number): number {
  return f === 1 ? b : a + (b - a) * f;
}

/** The last two snapshots, fed by the client on every state frame. */
export class SnapshotBuffer {
  private older: Snapshot | undefined;
  private newer: Snapshot | undefined;

  /** Adds the newest frame; the one before it becomes the older. */
  push(snapshot: Snapshot): void {
    this.older = this.newer;
    this.newer = snapshot;
  }

  /** Forgets both (a new connection: the frames before it are of another region). */
  clear(): void {
    this.older = this.newer = undefined;
  }

  /**
   * The entities at `now − delay` (see {@link interpolateEntities}); with one snapshot, that
   * snapshot's; with none, an empty list.
   */
  at(now: number, delay: number, exclude?: number): EntityState[] {
    if (this.newer === undefined) return [];
    const a = this.older ?? this.newer;
    return interpolateEntities(a, this.newer, now - delay, exclude);
  }
}
