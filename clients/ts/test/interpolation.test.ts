import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SnapshotBuffer, interpolateEntities, lerp } from '../src/interpolation.js';
import type { EntityState } from '../src/protocol.js';

const e = (id: number, x: number, y: number, z: number, health = 100): EntityState => ({ id, x, y, z, health });
const a = { time: 1000, entities: [e(1, 0, 0, 0), e(2, 10, 20, 30, 90), e(3, 5, 5, 5)] };
const b = { time: 1100, entities: [e(4, 7, 7, 7), e(2, 20, 40, 60, 80), e(1, 1, 1, 1)] };

describe('interpolateEntities', () => {
  it('interpolates at exact fractions, in the newer frame\'s order, without the local player', () => {
    assert.deepEqual(interpolateEntities(a, b, 1025, 1), [e(4, 7, 7, 7), e(2, 12.5, 25, 37.5, 80)]);
    assert.deepEqual(interpolateEntities(a, b, 1050, 1), [e(4, 7, 7, 7), e(2, 15, 30, 45, 80)]);
    assert.deepEqual(interpolateEntities(a, b, 1075, 1), [e(4, 7, 7, 7), e(2, 17.5, 35, 52.5, 80)]);
  });

  it('shows the older frame at its time and before it, the newer one at its time and after it', () => {
    assert.deepEqual(interpolateEntities(a, b, 1000, 1), [e(4, 7, 7, 7), e(2, 10, 20, 30, 90)]);
    assert.deepEqual(interpolateEntities(a, b, 900, 1), [e(4, 7, 7, 7), e(2, 10, 20, 30, 90)]);
    assert.deepEqual(interpolateEntities(a, b, 1100, 1), [e(4, 7, 7, 7), e(2, 20, 40, 60, 80)]);
    assert.deepEqual(interpolateEntities(a, b, 5000, 1), [e(4, 7, 7, 7), e(2, 20, 40, 60, 80)]);
  });

  it('keeps the local player when nothing is excluded, and copies (never aliases) the input', () => {
    const out = interpolateEntities(a, b, 1050);
    assert.deepEqual(out.map((x) => x.id), [4, 2, 1]);
    assert.deepEqual(out[2], e(1, 0.5, 0.5, 0.5));
    out[0].x = 99;
    assert.equal(b.entities[0].x, 7);
  });

  it('takes the newer frame when both have the same time', () => {
    assert.deepEqual(interpolateEntities({ ...a, time: 1100 }, b, 1000, 1), [e(4, 7, 7, 7), e(2, 20, 40, 60, 80)]);
  });

  it('lerp is exact at both ends', () => {
    assert.equal(lerp(0.1, 0.7, 1), 0.7);
    assert.equal(lerp(0.1, 0.7, 0), 0.1);
  });
});

describe('SnapshotBuffer', () => {
  it('draws at now − delay between the last two frames', () => {
    const buf = new SnapshotBuffer();
    assert.deepEqual(buf.at(0, 100), []);
    buf.push({ time: 900, entities: [e(2, 0, 0, 0)] });
    assert.deepEqual(buf.at(2000, 100), [e(2, 0, 0, 0)], 'one frame: shown as it is');
    buf.push(a);
    buf.push(b);  // the frame at 900 is gone
    assert.deepEqual(buf.at(1150, 100, 1), [e(4, 7, 7, 7), e(2, 15, 30, 45, 80)]);
    buf.clear();
    assert.deepEqual(buf.at(1150, 100), []);
  });
});
