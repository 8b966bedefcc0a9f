// The binary wire form of the client protocol (`worldline.capnp`, docs/protocol.md, "The binary
// form"): every frame one packed Cap'n Proto message — a ClientMessage from the client, a
// ServerMessage from the node (schemas/client.capnp). The frames are the JSON form's, so the rest
// of the SDK sees the same ServerFrame values whichever form the session speaks.
//
// Layouts: the offsets below are those `capnp compile -ocapnp schemas/client.capnp` prints (data
// fields as byte offsets into the data section, pointers by index). A field added to the schema
// gets a new offset; an older reader ignores it, and a reader of a shorter (older) struct reads
// the default — both handled by the reader in capnp.ts.
//
// Encoders allocate in the order gateway/protocol_capnp.cc does (encode_client_capnp for the
// client's messages, encode_capnp for the node's), so their bytes equal the node's for the same
// frame. The node's side is here too (encodeServerCapnp, decodeClientCapnp) for tests and for
// mock nodes; the SDK itself uses encode*Capnp and parseServerCapnp.
import { CapnpError, MessageBuilder, readPacked, type StructBuilder, type StructReader } from './capnp.js';
import type { EntityState, MalformedFrame, SequencedAction, ServerFrame } from './protocol.js';

/** The WebSocket subprotocol of the binary wire form. */
export const CAPNP_SUBPROTOCOL = 'worldline.capnp';

/**
 * The schema's layouts: each struct's data words and pointers; a data field's byte offset (a
 * Bool's bit), a pointer field's index; a union's tag offset (`which`), its members' pointer
 * (`member`) and tag values (in capitals). test/protocol_capnp.test.ts checks every entry, and
 * that no schema field is missing, against `capnp compile -ocapnp` (test/fixtures/client_layout.txt,
 * which test.sh compares with the schema).
 */
export const LAYOUT = {
  ClientMessage: { data: 1, ptrs: 1, which: 0, member: 0, HELLO: 0, ACTION: 1, PING: 2 },
  Hello: { data: 0, ptrs: 2, token: 0, resume: 1 },
  Resume: { data: 1, ptrs: 0, lastAck: 0 },
  Action: { data: 3, ptrs: 3, seq: 0, kind: 0, t: 8, args: 1, after: 2, seen: 16 },
  Args: { data: 4, ptrs: 2, x: 0, y: 8, z: 16, target: 24, text: 0, aim: 1 },
  Direction: { data: 3, ptrs: 0, x: 0, y: 8, z: 16 },
  Dependency: { data: 2, ptrs: 0, actor: 0, seq: 8 },
  Ping: { data: 1, ptrs: 0, t: 0 },
  ServerMessage: { data: 1, ptrs: 1, which: 0, member: 0, WELCOME: 0, STATE: 1, REJECT: 2, ERROR: 3, PONG: 4 },
  Welcome: { data: 3, ptrs: 1, player: 0, region: 0, tickHz: 8, ack: 16 },
  State: { data: 2, ptrs: 2, tick: 0, ack: 8, entities: 0, removed: 1 },
  // item is bit 320 (byte 40, bit 0); owner at byte 48
  EntityState: { data: 7, ptrs: 0, id: 0, x: 8, y: 16, z: 24, health: 32, itemBit: 320, owner: 48 },
  Reject: { data: 1, ptrs: 2, seq: 0, reason: 0, detail: 1 },
  Error: { data: 2, ptrs: 2, code: 0, name: 0, message: 1, seq: 8 },
  Pong: { data: 2, ptrs: 0, t: 0, serverMs: 8 },
} as const;
const L = LAYOUT;

// The first segment's size, in words, of gateway/protocol_capnp.cc's builders: a message larger
// than that continues in a second segment there, and here alike.
const CLIENT_FIRST_SEGMENT = 128;  // encode_client_capnp
const SERVER_FIRST_SEGMENT = 256;  // encode_capnp

function root(kind: typeof L.ClientMessage | typeof L.ServerMessage, which: number): { m: MessageBuilder; s: StructBuilder } {
  const m = new MessageBuilder(kind === L.ClientMessage ? CLIENT_FIRST_SEGMENT : SERVER_FIRST_SEGMENT);
  const s = m.initRoot(kind.data, kind.ptrs).setU16(kind.which, which);
  return { m, s };
}

/** The `hello` message; `lastAck` present means a resume after a reconnect. */
export function encodeHelloCapnp(token: string, lastAck?: number): Uint8Array {
  const { m, s } = root(L.ClientMessage, L.ClientMessage.HELLO);
  const h = s.initStruct(L.ClientMessage.member, L.Hello.data, L.Hello.ptrs);
  h.setText(L.Hello.token, token);
  if (lastAck !== undefined) h.initStruct(L.Hello.resume, L.Resume.data, L.Resume.ptrs).setU64(L.Resume.lastAck, lastAck);
  return m.toPacked();
}

/**
 * The `action` message. Absent numbers are 0 (the schema's "not said": `seen` 0, `target` 0);
 * `args` is always present (an empty one when the action has none), `text` only when not empty,
 * `aim` and `after` only when given — what encode_client_capnp writes.
 * REQUIRES: seq, t, seen, target, after's ids are integers in [0, 2^53) (RangeError otherwise).
 */
export function encodeActionCapnp(a: SequencedAction, seen?: number): Uint8Array {
  const { m, s } = root(L.ClientMessage, L.ClientMessage.ACTION);
  const b = s.initStruct(L.ClientMessage.member, L.Action.data, L.Action.ptrs);
  b.setU64(L.Action.seq, a.seq);
  b.setText(L.Action.kind, a.kind);
  b.setU64(L.Action.t, a.t);
  b.setU64(L.Action.seen, seen ?? 0);
  const args = b.initStruct(L.Action.args, L.Args.data, L.Args.ptrs);
  args.setF64(L.Args.x, a.args?.x ?? 0).setF64(L.Args.y, a.args?.y ?? 0).setF64(L.Args.z, a.args?.z ?? 0);
  args.setU64(L.Args.target, a.args?.target ?? 0);
  if (a.args?.text) args.setText(L.Args.text, a.args.text);
  const aim = a.args?.aim;
  if (aim) {
    args.initStruct(L.Args.aim, L.Direction.data, L.Direction.ptrs)
      .setF64(L.Direction.x, aim.x).setF64(L.Direction.y, aim.y).setF64(L.Direction.z, aim.z);
  }
  if (a.after) {
    b.initStruct(L.Action.after, L.Dependency.data, L.Dependency.ptrs)
      .setU64(L.Dependency.actor, a.after.actor).setU64(L.Dependency.seq, a.after.seq);
  }
  return m.toPacked();
}

/** The `ping` message; answered by a `pong` with the same `t`. */
export function encodePingCapnp(t: number): Uint8Array {
  const { m, s } = root(L.ClientMessage, L.ClientMessage.PING);
  s.initStruct(L.ClientMessage.member, L.Ping.data, L.Ping.ptrs).setU64(L.Ping.t, t);
  return m.toPacked();
}

/** `bytes` as hex, at most the first 512 (for MalformedFrame.raw). */
export function hex(bytes: Uint8Array): string {
  const shown = Array.from(bytes.subarray(0, 512), (b) => b.toString(16).padStart(2, '0')).join('');
  return bytes.length > 512 ? `${shown}… (${bytes.length} bytes)` : shown;
}

const finite = (v: number, what: string): number => {
  if (!Number.isFinite(v)) throw new CapnpError(`${what} must be a finite number, not ${v}`);
  return v;
};

function readEntity(e: StructReader, i: number): EntityState {
  const E = L.EntityState;
  const out: EntityState = {
    id: e.u64(E.id),
    x: finite(e.f64(E.x), `state.entities[${i}].x`),
    y: finite(e.f64(E.y), `state.entities[${i}].y`),
    z: finite(e.f64(E.z), `state.entities[${i}].z`),
    health: e.i64(E.health),
  };
  // As in the JSON form: `item` only on items, `owner` only once claimed (0 = unclaimed).
  if (e.bool(E.itemBit)) {
    out.item = true;
    const owner = e.u64(E.owner);
    if (owner !== 0) out.owner = owner;
  }
  return out;
}

function readServerMessage(r: StructReader): ServerFrame {
  const which = r.u16(L.ServerMessage.which);
  // An unset member reads as its struct with every field at its default, as in C++.
  const b = r.structOrDefault(L.ServerMessage.member);
  switch (which) {
    case L.ServerMessage.WELCOME:
      return { type: 'welcome', player: b.u64(L.Welcome.player), region: b.text(L.Welcome.region),
        tick_hz: finite(b.f64(L.Welcome.tickHz), 'welcome.tick_hz'), ack: b.u64(L.Welcome.ack) };
    case L.ServerMessage.STATE:
      return { type: 'state', tick: b.u64(L.State.tick), ack: b.u64(L.State.ack),
        entities: b.structList(L.State.entities).map(readEntity), removed: b.u64List(L.State.removed) };
    case L.ServerMessage.REJECT:
      return { type: 'reject', seq: b.u64(L.Reject.seq), reason: b.text(L.Reject.reason), detail: b.text(L.Reject.detail) };
    case L.ServerMessage.ERROR: {
      const seq = b.u64(L.Error.seq);
      return { type: 'error', code: b.u16(L.Error.code), name: b.text(L.Error.name), message: b.text(L.Error.message),
        ...(seq !== 0 ? { seq } : {}) };
    }
    case L.ServerMessage.PONG:
      return { type: 'pong', t: b.u64(L.Pong.t), server_ms: b.u64(L.Pong.serverMs) };
    default:
      throw new CapnpError(`unknown ServerMessage member ${which}`);
  }
}

/**
 * Decodes one binary frame from a node: the same values as the JSON form's parseServerFrame
 * (`item` only on items, `owner` only when not 0, an error's `seq` only when not 0). Anything that
 * is not a packed ServerMessage — truncated, out of bounds, trailing bytes, an unknown union
 * member, a non-finite coordinate, an integer beyond 2^53 − 1 — comes back as a MalformedFrame
 * (`raw`: the bytes in hex).
 */
export function parseServerCapnp(bytes: Uint8Array): ServerFrame | MalformedFrame {
  try {
    return readServerMessage(readPacked(bytes).root());
  } catch (e) {
    if (e instanceof CapnpError || e instanceof RangeError) {
      return { type: 'malformed', why: `not a packed ServerMessage: ${e.message}`, raw: hex(bytes) };
    }
    throw e;
  }
}

/** The node's side: a server frame as the node encodes it (gateway/protocol_capnp.cc, encode_capnp). */
export function encodeServerCapnp(f: ServerFrame): Uint8Array {
  const S = L.ServerMessage;
  switch (f.type) {
    case 'welcome': {
      const { m, s } = root(S, S.WELCOME);
      s.initStruct(S.member, L.Welcome.data, L.Welcome.ptrs).setU64(L.Welcome.player, f.player)
        .setText(L.Welcome.region, f.region).setF64(L.Welcome.tickHz, f.tick_hz).setU64(L.Welcome.ack, f.ack);
      return m.toPacked();
    }
    case 'state': {
      const { m, s } = root(S, S.STATE);
      const b = s.initStruct(S.member, L.State.data, L.State.ptrs).setU64(L.State.tick, f.tick).setU64(L.State.ack, f.ack);
      const E = L.EntityState;
      b.initStructList(L.State.entities, f.entities.length, E.data, E.ptrs).forEach((o, i) => {
        const e = f.entities[i];
        o.setU64(E.id, e.id).setF64(E.x, e.x).setF64(E.y, e.y).setF64(E.z, e.z).setI64(E.health, e.health)
          .setBool(E.itemBit, e.item === true).setU64(E.owner, e.owner ?? 0);
      });
      b.setU64List(L.State.removed, f.removed);
      return m.toPacked();
    }
    case 'reject': {
      const { m, s } = root(S, S.REJECT);
      s.initStruct(S.member, L.Reject.data, L.Reject.ptrs).setU64(L.Reject.seq, f.seq)
        .setText(L.Reject.reason, f.reason).setText(L.Reject.detail, f.detail);
      return m.toPacked();
    }
    case 'error': {
      const { m, s } = root(S, S.ERROR);
      s.initStruct(S.member, L.Error.data, L.Error.ptrs).setU16(L.Error.code, f.code)
        .setText(L.Error.name, f.name).setText(L.Error.message, f.message).setU64(L.Error.seq, f.seq ?? 0);
      return m.toPacked();
    }
    case 'pong': {
      const { m, s } = root(S, S.PONG);
      s.initStruct(S.member, L.Pong.data, L.Pong.ptrs).setU64(L.Pong.t, f.t).setU64(L.Pong.serverMs, f.server_ms);
      return m.toPacked();
    }
  }
}

/** What a ClientMessage says, in the JSON form's shape (`args` with every number, as the binary form has them). */
export type ClientFrameValue =
  | { type: 'hello'; token: string; resume?: { last_ack: number } }
  | { type: 'action'; seq: number; kind: string; t: number; seen: number;
      args: { x: number; y: number; z: number; target: number; text?: string; aim?: { x: number; y: number; z: number } };
      after?: { actor: number; seq: number } }
  | { type: 'ping'; t: number };

/** The node's side: decodes a ClientMessage (for tests and mock nodes). Throws CapnpError. */
export function decodeClientCapnp(bytes: Uint8Array): ClientFrameValue {
  const r = readPacked(bytes).root();
  const C = L.ClientMessage;
  const b = r.struct(C.member);
  const which = r.u16(C.which);
  if (!b) throw new CapnpError(`ClientMessage member ${which} not set`);
  switch (which) {
    case C.HELLO: {
      const resume = b.struct(L.Hello.resume);
      return { type: 'hello', token: b.text(L.Hello.token), ...(resume ? { resume: { last_ack: resume.u64(L.Resume.lastAck) } } : {}) };
    }
    case C.ACTION: {
      const a = b.struct(L.Action.args);
      const args: Extract<ClientFrameValue, { type: 'action' }>['args'] = {
        x: a?.f64(L.Args.x) ?? 0, y: a?.f64(L.Args.y) ?? 0, z: a?.f64(L.Args.z) ?? 0, target: a?.u64(L.Args.target) ?? 0,
      };
      if (a?.hasPointer(L.Args.text)) args.text = a.text(L.Args.text);
      const aim = a?.struct(L.Args.aim);
      if (aim) args.aim = { x: aim.f64(L.Direction.x), y: aim.f64(L.Direction.y), z: aim.f64(L.Direction.z) };
      const after = b.struct(L.Action.after);
      return {
        type: 'action', seq: b.u64(L.Action.seq), kind: b.text(L.Action.kind), t: b.u64(L.Action.t), seen: b.u64(L.Action.seen), args,
        ...(after ? { after: { actor: after.u64(L.Dependency.actor), seq: after.u64(L.Dependency.seq) } } : {}),
      };
    }
    case C.PING:
      return { type: 'ping', t: b.u64(L.Ping.t) };
    default:
      throw new CapnpError(`unknown ClientMessage member ${which}`);
  }
}
