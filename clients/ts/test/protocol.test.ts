import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeAction, encodeHello, encodePing, parseServerFrame } from '../src/protocol.js';

const why = (raw: string): string => {
  const f = parseServerFrame(raw);
  assert.equal(f.type, 'malformed', `expected malformed: ${raw}`);
  return (f as { why: string }).why;
};

describe('parseServerFrame', () => {
  it('accepts the frames of docs/protocol.md as they are, unknown fields kept', () => {
    const state = {
      type: 'state', tick: 1234, ack: 7, removed: [17], later_field: 'x',
      entities: [{ id: 42, x: 12.5, y: 0, z: -3, health: 90 }, { id: 1000000000007, x: 6.2, y: 0, z: 3.1, health: 0, item: true, owner: 5 }],
    };
    assert.deepEqual(parseServerFrame(JSON.stringify(state)), state);
    const frames = [
      { type: 'welcome', player: 42, region: 'eu-west', tick_hz: 20, ack: 41 },
      { type: 'reject', seq: 8, reason: 'refused', detail: 'target out of range' },
      { type: 'error', code: 4005, name: 'bad_field', message: 'action needs seq, an integer >= 1' },
      { type: 'error', code: 4005, name: 'bad_field', message: 'aim', seq: 9 },
      { type: 'pong', t: 123, server_ms: 1764068400123 },
    ];
    for (const f of frames) assert.deepEqual(parseServerFrame(JSON.stringify(f)), f);
  });

  it('returns what is wrong with a malformed frame, and never throws', () => {
    assert.match(why('{not json'), /^not JSON/);
    assert.equal(why('[1,2]'), 'not a JSON object');
    assert.equal(why('null'), 'not a JSON object');
    assert.equal(why('{"type":"gossip"}'), 'unknown frame type "gossip"');
    assert.equal(why('{}'), 'unknown frame type undefined');
    assert.equal(why('{"type":"welcome","player":"42","region":"a","tick_hz":20,"ack":0}'), 'welcome.player must be an integer >= 0');
    assert.equal(why('{"type":"state","tick":1,"ack":-1,"entities":[],"removed":[]}'), 'state.ack must be an integer >= 0');
    assert.equal(why('{"type":"state","tick":1,"ack":0,"entities":{},"removed":[]}'), 'state.entities must be an array');
    assert.equal(why('{"type":"state","tick":1,"ack":0,"entities":[],"removed":["x"]}'), 'state.removed must be an array of ids');
    assert.equal(why('{"type":"state","tick":1,"ack":0,"entities":[7],"removed":[]}'), 'state.entities[0] must be an object');
    assert.equal(why('{"type":"state","tick":1,"ack":0,"entities":[{"id":1,"x":"1","y":0,"z":0,"health":1}],"removed":[]}'),
      'state.entities[0].x must be a finite number');
    assert.equal(why('{"type":"state","tick":1,"ack":0,"entities":[{"id":1,"x":1,"y":0,"z":0,"health":1,"item":1}],"removed":[]}'),
      'state.entities[0].item must be a boolean');
    assert.equal(why('{"type":"reject","seq":1,"reason":"refused"}'), 'reject.detail must be a string');
    assert.equal(why('{"type":"error","code":4005,"name":"bad_field","message":"m","seq":"9"}'), 'error.seq must be an integer when present');
    assert.equal(why('{"type":"pong","t":1.5,"server_ms":1}'), 'pong.t must be an integer >= 0');
  });
});

describe('encoders', () => {
  it('write the client frames with the protocol\'s field names', () => {
    assert.equal(encodeHello('tok'), '{"type":"hello","token":"tok"}');
    assert.equal(encodeHello('tok', 41), '{"type":"hello","token":"tok","resume":{"last_ack":41}}');
    assert.equal(encodeAction({ seq: 7, kind: 'move', t: 5, args: { x: 1, y: 0, z: -3 } }),
      '{"type":"action","seq":7,"kind":"move","t":5,"args":{"x":1,"y":0,"z":-3}}');
    assert.equal(encodeAction({ seq: 8, kind: 'attack', t: 6, args: { target: 99 }, after: { actor: 99, seq: 4 } }, 1234),
      '{"type":"action","seq":8,"kind":"attack","t":6,"args":{"target":99},"after":{"actor":99,"seq":4},"seen":1234}');
    assert.equal(encodeAction({ seq: 9, kind: 'emote', t: 0 }), '{"type":"action","seq":9,"kind":"emote","t":0,"args":{}}');
    assert.equal(encodePing(99), '{"type":"ping","t":99}');
  });
});
