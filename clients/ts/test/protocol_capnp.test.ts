// The binary wire form: byte-exact against Cap'n Proto's own C++ encoder (the client's messages,
// test/fixtures/client_frames.sh) and against a real node (its frames, captured with
// test/fixtures/capture_node_frames.ts, one in two segments); the same values as the JSON form;
// every kind of malformed input named, never thrown.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MessageBuilder, pack, unpack } from '../src/capnp.js';
import { encodeAction, encodeHello, encodePing, type SequencedAction, type ServerFrame } from '../src/protocol.js';
import { readFileSync } from 'node:fs';
import {
  LAYOUT, decodeClientCapnp, encodeActionCapnp, encodeHelloCapnp, encodePingCapnp, encodeServerCapnp, parseServerCapnp,
} from '../src/protocol_capnp.js';
import { clientFrames } from './fixtures/client_frames.js';
import { nodeFrames } from './fixtures/node_frames.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));

/** The SDK call a client fixture names. */
function call(c: Record<string, unknown[]>): { bin: Uint8Array; json: string } {
  if (c.hello) {
    const [token, lastAck] = c.hello as [string, number | undefined];
    return { bin: encodeHelloCapnp(token, lastAck), json: encodeHello(token, lastAck) };
  }
  if (c.ping) {
    const [t] = c.ping as [number];
    return { bin: encodePingCapnp(t), json: encodePing(t) };
  }
  const [a, seen] = c.action as [SequencedAction, number | undefined];
  return { bin: encodeActionCapnp(a, seen), json: encodeAction(a, seen) };
}

/** What the JSON form's frame says, with the binary form's defaults filled in (0 = not said). */
function withDefaults(json: string): unknown {
  const f = JSON.parse(json) as Record<string, unknown>;
  if (f.type !== 'action') return f;
  const args = f.args as Record<string, unknown>;
  return { ...f, seen: f.seen ?? 0, args: { x: 0, y: 0, z: 0, target: 0, ...args } };
}

const why = (b: Uint8Array): string => {
  const f = parseServerCapnp(b);
  assert.equal(f.type, 'malformed', `expected malformed: ${hex(b)} read as ${JSON.stringify(f)}`);
  return (f as { why: string }).why;
};

describe('the layouts', () => {
  it('are those capnp compile -ocapnp gives for schemas/client.capnp, every field of it', () => {
    // test.sh checks that this file is what capnp compile prints for the schema today.
    const text = readFileSync(new URL('../../test/fixtures/client_layout.txt', import.meta.url), 'utf8');
    const schema = new Map<string, Map<string, number>>();
    let current: Map<string, number> | undefined;
    for (const line of text.split('\n')) {
      let m = /^struct (\w+) @\w+ \{ {2}# (\d+) bytes, (\d+) ptrs/.exec(line);
      if (m) {
        current = new Map([['data', Number(m[2]) / 8], ['ptrs', Number(m[3])]]);
        schema.set(m[1], current);
        continue;
      }
      assert.ok(current || !line.startsWith('  '), `a field outside a struct: ${line}`);
      if ((m = /^ {2}union \{ {2}# tag bits \[(\d+), /.exec(line))) current!.set('which', Number(m[1]) / 8);
      else if ((m = /^ {4}(\w+) @\d+ :\w+; {2}# ptr\[(\d+)\], union tag = (\d+)$/.exec(line))) {
        current!.set('member', Number(m[2]));
        current!.set(m[1].toUpperCase(), Number(m[3]));
      } else if ((m = /^ {2}(\w+) @\d+ :Bool; {2}# bits\[(\d+), /.exec(line))) current!.set(`${m[1]}Bit`, Number(m[2]));
      else if ((m = /^ {2}(\w+) @\d+ :[\w()]+; {2}# bits\[(\d+), /.exec(line))) current!.set(m[1], Number(m[2]) / 8);
      else if ((m = /^ {2}(\w+) @\d+ :[\w()]+; {2}# ptr\[(\d+)\]$/.exec(line))) current!.set(m[1], Number(m[2]));
      else assert.ok(!/@\d+ :/.test(line), `a field this test cannot read: ${line}`);
    }
    const ours = new Map(Object.entries(LAYOUT).map(([name, fields]) => [name, new Map(Object.entries(fields))]));
    assert.deepEqual(ours, schema);
  });
});

describe('the client\'s messages in the binary form', () => {
  for (const f of clientFrames) {
    it(`${f.what}: the bytes of Cap'n Proto's C++ encoder, and what the JSON form says`, () => {
      const { bin, json } = call(f.call);
      assert.equal(hex(bin), f.hex, `capnp encode of ${f.text}`);
      const decoded = decodeClientCapnp(bin);
      assert.deepEqual(decoded, withDefaults(json));
    });
  }

  it('a message past the 128 words of the node\'s first segment goes on in a second, and reads back', () => {
    const token = 'x'.repeat(1200);  // 151 words of text
    const bin = encodeHelloCapnp(token, 5);
    const words = unpack(bin, 1 << 20);
    assert.equal(new DataView(words.buffer).getUint32(0, true), 1, 'two segments');
    assert.deepEqual(decodeClientCapnp(bin), { type: 'hello', token, resume: { last_ack: 5 } });
  });

  it('refuses numbers the protocol cannot carry, before sending anything', () => {
    const a: SequencedAction = { seq: 1.5, kind: 'move', t: 0 };
    assert.throws(() => encodeActionCapnp(a), /1.5 is not an integer in \[0, 2\^53\)/);
    assert.throws(() => encodeActionCapnp({ ...a, seq: 1, args: { target: -1 } }), /-1 is not an integer/);
  });
});

describe('the node\'s frames in the binary form', () => {
  for (const f of nodeFrames) {
    it(`${f.what}: decodes to the node's own JSON of it, and encodes back to the same bytes`, () => {
      assert.deepEqual(parseServerCapnp(bytes(f.hex)), f.value);
      assert.equal(hex(encodeServerCapnp(f.value as ServerFrame)), f.hex);
    });
  }

  it('the fixtures cover every message, and a frame in two segments (a far pointer)', () => {
    const kinds = new Set(nodeFrames.map((f) => (f.value as ServerFrame).type));
    assert.deepEqual([...kinds].sort(), ['error', 'pong', 'reject', 'state', 'welcome']);
    const twoSegments = nodeFrames.filter((f) => new DataView(unpack(bytes(f.hex), 1 << 20).buffer).getUint32(0, true) === 1);
    assert.deepEqual(twoSegments.map((f) => f.what), ['state in two segments', 'state in two segments, an item owned']);
  });

  it('round-trips what the node does not happen to send: a negative health, ids up to 2^53 − 1, an error without seq', () => {
    const frames: ServerFrame[] = [
      { type: 'state', tick: 2 ** 40, ack: Number.MAX_SAFE_INTEGER, removed: [1, Number.MAX_SAFE_INTEGER],
        entities: [{ id: 3, x: -1.25, y: 1e-300, z: 6.02e23, health: -40 }, { id: 1e12, x: 1, y: 0, z: 2, health: 0, item: true }] },
      { type: 'state', tick: 1, ack: 0, entities: [], removed: [] },
      { type: 'error', code: 4013, name: 'authority_moved', message: 'region 2 holds it (epoch 3)' },
      { type: 'reject', seq: 8, reason: 'refused', detail: '' },
      { type: 'welcome', player: 1, region: 'eu-west ✓', tick_hz: 59.94, ack: 41 },
    ];
    for (const f of frames) assert.deepEqual(parseServerCapnp(encodeServerCapnp(f)), f);
  });
});

describe('packing', () => {
  it('writes the encoding spec\'s examples', () => {
    // https://capnproto.org/encoding.html#packing
    assert.equal(hex(pack(bytes('0800000003000200' + '19000000aa010000'))), '51080302' + '3119aa01');
    assert.equal(hex(pack(new Uint8Array(32))), '0003');
    assert.equal(hex(pack(bytes('8a'.repeat(32)))), 'ff' + '8a'.repeat(8) + '03' + '8a'.repeat(24));
    assert.equal(hex(pack(bytes('8a'.repeat(8) + '00'.repeat(16)))), 'ff' + '8a'.repeat(8) + '00' + '0001');
  });

  it('caps runs at 255 words, copies words with at most one zero byte, and unpacks to the same words', () => {
    const zeros = new Uint8Array(8 * 600);
    assert.equal(hex(pack(zeros)), '00ff' + '00ff' + '0057');  // 1 + 255, 1 + 255, 1 + 87
    const dense = new Uint8Array(8 * 300).fill(7);
    for (let w = 1; w < 300; w += 2) dense[w * 8 + 3] = 0;  // one zero byte: still copied raw
    const packed = pack(dense);
    assert.equal(packed[0], 0xff);
    assert.equal(packed[9], 255, 'at most 255 words copied after a full word');
    assert.deepEqual(unpack(packed, 1 << 20), dense);
    const mixed = new Uint8Array(8 * 64);
    for (let i = 0; i < mixed.length; ++i) mixed[i] = (i * 37) % 5 === 0 ? 0 : (i * 11) & 0xff;
    assert.deepEqual(unpack(pack(mixed), 1 << 20), mixed);
  });
});

describe('parseServerCapnp on bytes that are not a ServerMessage', () => {
  const welcome = encodeServerCapnp({ type: 'welcome', player: 7, region: 'r', tick_hz: 20, ack: 0 });
  const flat = () => unpack(welcome, 1 << 20);  // table (1 word), root pointer, ServerMessage, Welcome, text

  it('names what is wrong, and never throws', () => {
    assert.equal(why(new Uint8Array(0)), 'not a packed ServerMessage: no segment table');
    assert.equal(why(welcome.subarray(0, welcome.length - 1)), 'not a packed ServerMessage: truncated: the last word is cut short');
    assert.equal(why(bytes('00')), 'not a packed ServerMessage: truncated: a run count is missing');
    assert.equal(why(new Uint8Array([...welcome, 0, 0])), 'not a packed ServerMessage: 8 trailing bytes after the message');
    assert.equal(why(pack(new Uint8Array(8))), 'not a packed ServerMessage: no root pointer');
    assert.equal(why(pack(bytes('0000000005000000'))), 'not a packed ServerMessage: segment 0 (5 words) is cut short');

    const w = flat();
    w[16] = 9;  // the union's discriminant
    assert.equal(why(pack(w)), 'not a packed ServerMessage: unknown ServerMessage member 9');

    const oob = flat();
    new DataView(oob.buffer).setUint32(8, (100 << 2) | 0, true);  // the root struct 100 words on
    assert.equal(why(pack(oob)), 'not a packed ServerMessage: a struct out of bounds');

    const nul = flat();
    nul[nul.length - 7] = 0x41;  // the region text's NUL
    assert.equal(why(pack(nul)), 'not a packed ServerMessage: a text without its NUL terminator');

    const cap = flat();
    new DataView(cap.buffer).setUint32(8, 3, true);  // a capability pointer at the root
    assert.equal(why(pack(cap)), 'not a packed ServerMessage: a capability pointer where data was expected');
  });

  it('refuses what a JavaScript number cannot hold, and non-finite coordinates', () => {
    const m = new MessageBuilder(256);
    m.initRoot(1, 1).setU16(0, 4).initStruct(0, 2, 0).setU64(0, 1);
    const words = unpack(m.toPacked(), 1 << 20);
    words[8 * 4 + 7] = 0x01;  // Pong.t's top byte: 2^56 + 1
    assert.equal(why(pack(words)), 'not a packed ServerMessage: a 64-bit integer above 2^53 - 1 (JavaScript\'s numbers lose it)');
    const state = encodeServerCapnp({ type: 'state', tick: 1, ack: 0, entities: [{ id: 1, x: 0, y: 0, z: 0, health: 1 }], removed: [] });
    const sw = unpack(state, 1 << 20);
    // the entity starts after the table, root pointer, ServerMessage (2), State (4) and the list tag
    new DataView(sw.buffer).setFloat64(8 * (1 + 1 + 2 + 4 + 1) + 8, NaN, true);
    assert.equal(why(pack(sw)), 'not a packed ServerMessage: state.entities[0].x must be a finite number, not NaN');
  });

  it('stops a list of empty structs that claims 2^29 elements (the traversal limit)', () => {
    const m = new MessageBuilder(256);
    const st = m.initRoot(1, 1).setU16(0, 1).initStruct(0, 2, 2);
    st.initStructList(0, 0, 0, 0);
    const w = unpack(m.toPacked(), 1 << 20);
    // The list's tag word: 2^28 − 1 elements of 0 words each.
    const tagAt = 8 * (1 + 1 + 2 + 4);
    new DataView(w.buffer).setUint32(tagAt, (2 ** 28 - 1) * 4, true);
    assert.match(why(pack(w)), /traversal limit exceeded/);
  });

  it('reads a newer node\'s bigger structs and an older node\'s smaller ones', () => {
    // A Welcome with a fourth data word and a second pointer (fields added later) ...
    const m = new MessageBuilder(256);
    const w = m.initRoot(1, 1).setU16(0, 0).initStruct(0, 4, 2);
    w.setU64(0, 7).setText(0, 'r').setF64(8, 20).setU64(16, 3).setU64(24, 99).setText(1, 'later');
    assert.deepEqual(parseServerCapnp(m.toPacked()), { type: 'welcome', player: 7, region: 'r', tick_hz: 20, ack: 3 });
    // ... and a Pong of one data word (serverMs missing: 0), and a ServerMessage whose member is unset.
    const o = new MessageBuilder(256);
    o.initRoot(1, 1).setU16(0, 4).initStruct(0, 1, 0).setU64(0, 5);
    assert.deepEqual(parseServerCapnp(o.toPacked()), { type: 'pong', t: 5, server_ms: 0 });
    const e = new MessageBuilder(256);
    e.initRoot(1, 1).setU16(0, 2);
    assert.deepEqual(parseServerCapnp(e.toPacked()), { type: 'reject', seq: 0, reason: '', detail: '' });
  });

  it('follows a double far pointer (a landing pad of two words in another segment)', () => {
    const flatHex = [
      '02000000' + '01000000' + '02000000' + '04000000',  // table: 3 segments, of 1, 2 and 4 words
      '0600000001000000',  // seg 0: the root, a double far pointer to the pad at word 0 of seg 1
      '0200000002000000',  // seg 1: the pad, a far pointer to word 0 of seg 2 ...
      '0000000001000100',  //        ... and the tag: a struct of 1 data word and 1 pointer
      '0400000000000000',  // seg 2: the ServerMessage, member 4 (pong) ...
      '0000000002000000',  //        ... and its pointer to a struct of 2 data words right after
      '7b00000000000000',  //        Pong.t = 123
      '2a00000000000000',  //        Pong.serverMs = 42
    ].join('');
    assert.deepEqual(parseServerCapnp(pack(bytes(flatHex))), { type: 'pong', t: 123, server_ms: 42 });
  });
});
