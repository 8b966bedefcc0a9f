// The JSON wire form of the client protocol (`worldline.json`, docs/protocol.md): the frames'
// types, the encoders of what a client sends, and a validating decoder of what a node sends.
// Everything a node sends passes through `parseServerFrame`; a frame that does not match the
// protocol comes back as a `MalformedFrame` value, never as an exception.

/** The WebSocket subprotocol of the JSON wire form. */
export const JSON_SUBPROTOCOL = 'worldline.json';

/** Action kinds the built-in game rules know (docs/game-rules.md). */
export type ActionKind = 'move' | 'attack' | 'pickup' | 'interact' | 'collide' | 'chat' | 'emote';

/** A direction in world axes (`args.aim`); any length, the node normalises it. */
export interface Direction {
  x: number;
  y: number;
  z: number;
}

/** `action.args`: which fields matter depends on the kind (docs/protocol.md, "action"). */
export interface ActionArgs {
  /** `move`: the destination in world units (where the player stands by its own prediction). */
  x?: number;
  y?: number;
  z?: number;
  /** `attack`, `pickup`, `interact`, `collide`: the target entity's id. */
  target?: number;
  /** `chat`, `emote`: at most 512 bytes. */
  text?: string;
  /** `attack`, `move`: where the player aims. */
  aim?: Direction;
}

/** What a game hands to {@link WorldlineClient.act}: an action without its sequence number. */
export interface ActionInput {
  kind: ActionKind | string;
  args?: ActionArgs;
  /** Process this action after that actor's action `seq`. */
  after?: { actor: number; seq: number };
}

/** An action with the sequence number and client clock the SDK gave it. */
export interface SequencedAction extends ActionInput {
  /** ≥ 1, strictly increasing per player across reconnects and failovers. */
  seq: number;
  /** The client's clock when the action was made, Unix milliseconds. */
  t: number;
}

/** One entity of a state frame, with authoritative values. */
export interface EntityState {
  id: number;
  x: number;
  y: number;
  z: number;
  health: number;
  /** Present and true for an item on the ground. */
  item?: boolean;
  /** An item's owner once someone claimed it. */
  owner?: number;
}

export interface WelcomeFrame {
  type: 'welcome';
  player: number;
  region: string;
  tick_hz: number;
  /** Echoes `resume.last_ack` (0 without); the first state frame carries the authoritative ack. */
  ack: number;
}

export interface StateFrame {
  type: 'state';
  tick: number;
  /** The highest seq of this player's actions processed and durable. */
  ack: number;
  entities: EntityState[];
  removed: number[];
}

/** Reject reasons of docs/protocol.md; a node may add others, so any string is accepted. */
export type RejectReason =
  | 'unknown_kind'
  | 'non_finite_coordinate'
  | 'out_of_world'
  | 'bad_target'
  | 'text_too_long'
  | 'duplicate'
  | 'clock_skew'
  | 'rate_limited'
  | 'too_fast'
  | 'no_such_item'
  | 'out_of_range'
  | 'conflict_lost'
  | 'missed'
  | 'aim_required'
  | 'refused';

export interface RejectFrame {
  type: 'reject';
  seq: number;
  reason: RejectReason | string;
  detail: string;
}

/** Error codes of docs/protocol.md, "error". */
export const ErrorCode = {
  frameTooLarge: 4001,
  badJson: 4002,
  tooDeep: 4003,
  unknownType: 4004,
  badField: 4005,
  wrongFrameKind: 4006,
  badCapnp: 4007,
  notAuthenticated: 4010,
  authFailed: 4011,
  alreadyAuthenticated: 4012,
  authorityMoved: 4013,
  kicked: 4014,
  rateLimited: 4029,
  slowConsumer: 4030,
} as const;

export interface ErrorFrame {
  type: 'error';
  code: number;
  name: string;
  message: string;
  /** The seq of the action this error refused, when it could be read. */
  seq?: number;
}

export interface PongFrame {
  type: 'pong';
  /** The ping's `t`, echoed. */
  t: number;
  /** The node's steady (monotonic) clock in ms, from an arbitrary origin: not Unix time
   *  (gateway/client_session.cc, as of this writing; docs/protocol.md does not say). */
  server_ms: number;
}

export type ServerFrame = WelcomeFrame | StateFrame | RejectFrame | ErrorFrame | PongFrame;

/** A frame that is not what the protocol says; `why` names the first thing wrong. */
export interface MalformedFrame {
  type: 'malformed';
  why: string;
  raw: string;
}

type Obj = Record<string, unknown>;

const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isUint = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Checks `o[key]` and returns an error text, or null when it is fine. */
function need(o: Obj, key: string, ok: (v: unknown) => boolean, what: string): string | null {
  return ok(o[key]) ? null : `${String(o.type)}.${key} must be ${what}`;
}

function checkEntity(e: unknown, i: number): string | null {
  if (!isObject(e)) return `state.entities[${i}] must be an object`;
  for (const k of ['x', 'y', 'z']) {
    if (!isNumber(e[k])) return `state.entities[${i}].${k} must be a finite number`;
  }
  if (!isUint(e.id)) return `state.entities[${i}].id must be an integer >= 0`;
  if (!isNumber(e.health)) return `state.entities[${i}].health must be a number`;
  if (e.item !== undefined && typeof e.item !== 'boolean') return `state.entities[${i}].item must be a boolean`;
  if (e.owner !== undefined && !isUint(e.owner)) return `state.entities[${i}].owner must be an integer >= 0`;
  return null;
}

function check(o: Obj): string | null {
  switch (o.type) {
    case 'welcome':
      return (
        need(o, 'player', isUint, 'an integer >= 0') ??
        need(o, 'region', (v) => typeof v === 'string', 'a string') ??
        need(o, 'tick_hz', isNumber, 'a number') ??
        need(o, 'ack', isUint, 'an integer >= 0')
      );
    case 'state': {
      const head =
        need(o, 'tick', isUint, 'an integer >= 0') ??
        need(o, 'ack', isUint, 'an integer >= 0') ??
        need(o, 'entities', Array.isArray, 'an array') ??
        need(o, 'removed', (v) => Array.isArray(v) && v.every(isUint), 'an array of ids');
      if (head) return head;
      const entities = o.entities as unknown[];
      for (let i = 0; i < entities.length; ++i) {
        const bad = checkEntity(entities[i], i);
        if (bad) return bad;
      }
      return null;
    }
    case 'reject':
      return (
        need(o, 'seq', isUint, 'an integer >= 0') ??
        need(o, 'reason', (v) => typeof v === 'string', 'a string') ??
        need(o, 'detail', (v) => typeof v === 'string', 'a string')
      );
    case 'error':
      return (
        need(o, 'code', isUint, 'an integer') ??
        need(o, 'name', (v) => typeof v === 'string', 'a string') ??
        need(o, 'message', (v) => typeof v === 'string', 'a string') ??
        need(o, 'seq', (v) => v === undefined || isUint(v), 'an integer when present')
      );
    case 'pong':
      return need(o, 't', isUint, 'an integer >= 0') ?? need(o, 'server_ms', isNumber, 'a number');
    default:
      return `unknown frame type ${JSON.stringify(o.type)}`;
  }
}

/**
 * Decodes one text frame from a node. Unknown fields are kept (the protocol lets nodes add them);
 * a frame that is not JSON, not an object, of an unknown type or with a field of the wrong type
 * is returned as a {@link MalformedFrame}.
 */
export function parseServerFrame(raw: string): ServerFrame | MalformedFrame {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (e) {
    return { type: 'malformed', why: `not JSON: ${(e as Error).message}`, raw };
  }
  if (!isObject(v)) return { type: 'malformed', why: 'not a JSON object', raw };
  const bad = check(v);
  if (bad) return { type: 'malformed', why: bad, raw };
  return v as unknown as ServerFrame;
}

/** The `hello` frame; `lastAck` present means a resume after a reconnect. */
export function encodeHello(token: string, lastAck?: number): string {
  return JSON.stringify(
    lastAck === undefined ? { type: 'hello', token } : { type: 'hello', token, resume: { last_ack: lastAck } },
  );
}

/**
 * The `action` frame. `seen` is the tick of the newest state frame read on this connection
 * (it confirms the `conflict_lost` notices sent before it); omitted when none was read yet.
 */
export function encodeAction(a: SequencedAction, seen?: number): string {
  const o: Obj = { type: 'action', seq: a.seq, kind: a.kind, t: a.t, args: a.args ?? {} };
  if (a.after) o.after = { actor: a.after.actor, seq: a.after.seq };
  if (seen !== undefined) o.seen = seen;
  return JSON.stringify(o);
}

/** The `ping` frame; answered by a `pong` with the same `t`. */
export function encodePing(t: number): string {
  return JSON.stringify({ type: 'ping', t });
}
