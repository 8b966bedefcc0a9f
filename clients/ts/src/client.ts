// The client: one session at a time with one of a list of region nodes over either wire form,
// automatic reconnect with backoff to the next region and resume with the last ack, prediction
// and reconciliation of the local player, interpolation of the others. Single-threaded: every
// method and event runs on the caller's event loop; the socket and the timers are injected.

import { TypedEmitter } from './emitter.js';
import { SnapshotBuffer } from './interpolation.js';
import { Predictor, type PredictionOptions, type Reconciliation } from './prediction.js';
import {
  ErrorCode,
  type ActionInput,
  type EntityState,
  type ErrorFrame,
  type RejectFrame,
  type SequencedAction,
  type StateFrame,
  type WelcomeFrame,
} from './protocol.js';
import { wireCodec, type WireCodec, type WireForm } from './wire.js';

/** The part of a WebSocket the client uses: the browser's `WebSocket` and npm `ws` both fit. */
export interface SocketLike {
  /** A string goes as a text frame, bytes as a binary frame. */
  send(data: string | Uint8Array): void;
  /** Set to 'arraybuffer' under the binary wire form (a browser's default, 'blob', cannot be read at once). */
  binaryType?: string;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason?: unknown }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

/** Opens a WebSocket to `url` offering `protocols`. */
export type SocketFactory = (url: string, protocols: string[]) => SocketLike;

/** Timers, injectable so that tests run reconnects without waiting. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Reconnect policy: delay = min(maxDelayMs, baseDelayMs · 2^(attempt − 1)). */
export interface ReconnectOptions {
  /** Consecutive attempts without a `welcome` before giving up (`error` kind `gave_up`). Default 8. */
  maxAttempts?: number;
  /** Default 100 ms. */
  baseDelayMs?: number;
  /** Default 2000 ms. */
  maxDelayMs?: number;
}

/** Options of {@link WorldlineClient}. */
export interface ClientOptions<S> {
  /** The regions' gateway URLs (`ws://host:port/`), in order: the client starts with the first and
   *  moves to the next one (round robin) on every reconnect. */
  urls: string[];
  /** The player's token (a JWT; `worldline token` mints one), or a function returning a fresh one. */
  token: string | (() => string);
  /** The wire form: `json` (`worldline.json`, text frames; the default) or `capnp`
   *  (`worldline.capnp`, packed Cap'n Proto in binary frames, schemas/client.capnp). Only that
   *  subprotocol is offered; both carry the same messages, and the events are the same. */
  wire?: WireForm;
  /** Opens sockets. Default: the global `WebSocket` (browsers, Node ≥ 22); on Node 18/20 pass
   *  `wsSocketFactory` from `@worldline/client/node`. */
  socket?: SocketFactory;
  /** Prediction of the local player. Default: no prediction (`predicted` is the last
   *  authoritative state of the player's entity). */
  prediction?: PredictionOptions<S>;
  reconnect?: ReconnectOptions;
  /** A session without `welcome` this long after the socket was opened is given up. Default 5000 ms. */
  helloTimeoutMs?: number;
  /** A session that brings no frame for this long is taken for dead and left (a paused or cut-off
   *  node keeps its TCP connection open; a live one sends a state frame every tick). 0: never.
   *  Default 3000 ms. */
  silenceTimeoutMs?: number;
  /** A `ping` goes out this often during a session; its `pong` gives {@link WorldlineClient.rttMs}.
   *  0: no pings. Default 1000 ms. */
  pingIntervalMs?: number;
  /** How far behind now other entities are drawn. Default 100 ms (two frames at 20 Hz). */
  interpolationDelayMs?: number;
  /** The highest seq this player used before, if the game kept it (e.g. across an app restart):
   *  numbering goes on above it even if the first state frame's ack is lower (a region that has
   *  not yet heard of the player's latest actions from its peers). Default 0. */
  lastSeq?: number;
  /** The clock for `t` and snapshot times, ms. Default `Date.now`. */
  now?: () => number;
  timers?: Timers;
}

/** Why the client reports an error. */
export type ClientErrorKind =
  /** a frame from the node that is not what docs/protocol.md says, or of the other wire form's
   *  kind (text under `capnp`) (the session goes on) */
  | 'malformed_frame'
  /** an `error` frame from the node (`frame` holds it) */
  | 'server_error'
  /** `maxAttempts` reconnects failed: the client stopped */
  | 'gave_up'
  /** the token was refused (4011): the client stopped, reconnecting would not help */
  | 'auth_failed';

/** The payload of the `error` event. */
export interface ClientError {
  kind: ClientErrorKind;
  message: string;
  frame?: ErrorFrame;
  /** The frame as received: its text, or a binary frame's bytes in hex (the first 512). */
  raw?: string;
}

/** Events of {@link WorldlineClient}, with their payloads. */
export interface ClientEvents {
  /** A session began (hello answered). */
  welcome: WelcomeFrame;
  /** The first state frame of the client's life: actions may be made from now on. */
  ready: { ack: number };
  /** A state frame, after reconciliation. */
  state: { frame: StateFrame; reconciliation: Reconciliation };
  /** The ack moved up to `ack`: every action up to it is decided and durable. */
  ack: { ack: number };
  /** The node refused an action (any reason but `conflict_lost`). */
  reject: RejectFrame;
  /** An acknowledged pickup lost afterwards to an earlier claim in another region. */
  conflictLost: RejectFrame;
  /** The session ended; the client will try `url` after `delayMs`. */
  reconnecting: { attempt: number; url: string; delayMs: number; closeCode: number };
  /** A session after a reconnect began: `lastAck` was sent as `resume.last_ack`, `resent` were sent again. */
  resumed: { url: string; region: string; lastAck: number; resent: number[] };
  error: ClientError;
  /** The client stopped: {@link WorldlineClient.close}, `gave_up` or `auth_failed`. */
  closed: { code: number; reason: string };
}

type Phase = 'idle' | 'connecting' | 'hello_sent' | 'session' | 'waiting' | 'closed';

const defaultTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

function defaultSocketFactory(): SocketFactory {
  const G = (globalThis as { WebSocket?: new (url: string, protocols: string[]) => SocketLike }).WebSocket;
  if (!G) throw new Error('no global WebSocket: pass options.socket (on Node: wsSocketFactory from @worldline/client/node)');
  return (url, protocols) => new G(url, protocols);
}

/**
 * A game client of worldline over the JSON (`worldline.json`) or the binary (`worldline.capnp`) wire form.
 *
 * ```ts
 * const client = new WorldlineClient({ urls, token, socket: wsSocketFactory, prediction: { step } });
 * client.on('ready', () => client.act({ kind: 'move', args: { x: 1, y: 0, z: 0 } }));
 * client.connect();
 * ```
 *
 * Sequence numbers: the client numbers actions from the ack of the first state frame it reads
 * (the player's processed seq, replicated between regions) + 1, or `lastSeq` + 1 if that is
 * higher, so `act` is refused before the `ready` event. After that, actions made while reconnecting are kept and sent, in order, after
 * the unacknowledged ones once the next session begins.
 *
 * @typeParam S the predicted state of the local player (default: its {@link EntityState}).
 */
export class WorldlineClient<S = EntityState> extends TypedEmitter<ClientEvents> {
  private readonly urls: string[];
  private readonly token: () => string;
  private readonly socketFactory: SocketFactory;
  private readonly wire: WireCodec;
  private readonly predictor: Predictor<S>;
  private readonly timers: Timers;
  private readonly now: () => number;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly helloTimeoutMs: number;
  private readonly silenceTimeoutMs: number;
  private readonly pingIntervalMs: number;
  private readonly interpolationDelayMs: number;
  private readonly snapshots = new SnapshotBuffer();

  private phase: Phase = 'idle';
  private socket: SocketLike | null = null;
  private urlIndex = 0;
  private attempts = 0;
  private sessions = 0;
  private synced = false;
  private nextSeq = 1;
  private lastTick: number | undefined;
  private playerId: number | undefined;
  private regionName: string | undefined;
  private timer: unknown = null;     // the hello timeout, or the delay before a reconnect
  private watchdog: unknown = null;  // the silence timeout of a session
  private pinger: unknown = null;    // the next ping of a session
  private pingsOut = new Set<number>();  // the `t` of pings sent on this session, unanswered
  private rtt: number | undefined;
  private fatal: ClientError | null = null;

  constructor(options: ClientOptions<S>) {
    super();
    if (options.urls.length === 0) throw new Error('options.urls is empty');
    this.urls = [...options.urls];
    const token = options.token;
    this.token = typeof token === 'string' ? () => token : token;
    this.socketFactory = options.socket ?? defaultSocketFactory();
    this.wire = wireCodec(options.wire ?? 'json');
    this.predictor = new Predictor<S>(options.prediction ?? { step: (s) => s });
    this.timers = options.timers ?? defaultTimers;
    this.now = options.now ?? Date.now;
    this.maxAttempts = options.reconnect?.maxAttempts ?? 8;
    this.baseDelayMs = options.reconnect?.baseDelayMs ?? 100;
    this.maxDelayMs = options.reconnect?.maxDelayMs ?? 2000;
    this.helloTimeoutMs = options.helloTimeoutMs ?? 5000;
    this.silenceTimeoutMs = options.silenceTimeoutMs ?? 3000;
    this.pingIntervalMs = options.pingIntervalMs ?? 1000;
    this.interpolationDelayMs = options.interpolationDelayMs ?? 100;
    this.nextSeq = (options.lastSeq ?? 0) + 1;
  }

  /** The local player's predicted state (undefined until a state frame showed the player). */
  get predicted(): S | undefined {
    return this.predictor.predicted;
  }
  /** State frames that moved the prediction by more than the epsilon. */
  get corrections(): number {
    return this.predictor.corrections;
  }
  /** The highest ack the node sent: every action up to it is decided and durable. */
  get ack(): number {
    return this.predictor.ack;
  }
  /** The actions not yet acknowledged, in seq order (refused ones included until the ack covers them). */
  get unacked(): SequencedAction[] {
    return this.predictor.unacked;
  }
  /** The seq of the last action made (0 before any); keep it to pass as `lastSeq` next time. */
  get lastSeq(): number {
    return this.nextSeq - 1;
  }
  /** The round trip of the last answered ping, ms (undefined before one). */
  get rttMs(): number | undefined {
    return this.rtt;
  }
  /** The player id from the last `welcome`. */
  get player(): number | undefined {
    return this.playerId;
  }
  /** The region of the current (or last) session. */
  get region(): string | undefined {
    return this.regionName;
  }
  /** The URL of the current (or next) session. */
  get url(): string {
    return this.urls[this.urlIndex];
  }
  /** The wire form the client speaks. */
  get wireForm(): WireForm {
    return this.wire.form;
  }
  /** Whether a session is up (hello answered, socket open). */
  get inSession(): boolean {
    return this.phase === 'session';
  }

  /** The other entities in view, interpolated at `now − interpolationDelayMs`. */
  interpolated(now: number = this.now()): EntityState[] {
    return this.snapshots.at(now, this.interpolationDelayMs, this.playerId);
  }

  /** Opens the first session, with `urls[0]`. */
  connect(): void {
    if (this.phase !== 'idle') throw new Error(`connect() called twice (phase ${this.phase})`);
    this.open();
  }

  /**
   * Makes an action: gives it the next seq, applies it to the prediction, and sends it now if a
   * session is up (else after the next session's hello). Returns its seq.
   * REQUIRES: the `ready` event has fired (the player's seq base is known), the client not closed.
   */
  act(input: ActionInput): number {
    if (!this.synced) throw new Error('act() before the first state frame: wait for the ready event');
    if (this.phase === 'closed') throw new Error('act() on a closed client');
    // `t`: whole milliseconds, as the protocol has it (an injected clock may have fractions).
    const action: SequencedAction = { ...input, seq: this.nextSeq++, t: Math.max(0, Math.floor(this.now())) };
    this.predictor.apply(action);
    if (this.phase === 'session') this.send(this.wire.action(action, this.lastTick));
    return action.seq;
  }

  /** Ends the session and stops reconnecting; emits `closed`. */
  close(code = 1000, reason = 'client closed'): void {
    if (this.phase === 'closed') return;
    this.stop(code, reason);
  }

  private stop(code: number, reason: string): void {
    this.phase = 'closed';
    this.clearTimer();
    const s = this.socket;
    this.socket = null;
    if (s) {
      this.detach(s);
      try {
        // Only 1000 and 3000–4999 may be sent by a client (the browser's WebSocket throws on others).
        s.close(code === 1000 || (code >= 3000 && code <= 4999) ? code : 1000, reason.slice(0, 120));
      } catch {
        // already closing: nothing to do
      }
    }
    this.emit('closed', { code, reason });
  }

  private open(): void {
    this.phase = 'connecting';
    const url = this.urls[this.urlIndex];
    let s: SocketLike;
    try {
      s = this.socketFactory(url, [this.wire.subprotocol]);
    } catch (e) {
      // e.g. a malformed URL: counts as a failed attempt
      this.timer = this.timers.setTimeout(() => this.lost(1006, String(e)), 0);
      return;
    }
    this.socket = s;
    if (this.wire.form === 'capnp') s.binaryType = 'arraybuffer';
    s.onopen = () => {
      if (this.socket !== s) return;
      this.phase = 'hello_sent';
      this.lastTick = undefined;
      // A client that had a session resumes with its last ack, wherever it reconnects to.
      s.send(this.wire.hello(this.token(), this.sessions > 0 ? this.predictor.ack : undefined));
    };
    s.onmessage = (ev) => {
      if (this.socket === s) this.onFrame(ev.data);
    };
    s.onclose = (ev) => {
      if (this.socket === s) this.lost(ev.code, typeof ev.reason === 'string' ? ev.reason : String(ev.reason ?? ''));
    };
    s.onerror = () => {
      // a close follows every error
    };
    this.clearTimer();
    this.timer = this.timers.setTimeout(() => {
      if (this.socket === s && this.phase !== 'session') {
        this.lost(1006, `no welcome within ${this.helloTimeoutMs} ms`);
      }
    }, this.helloTimeoutMs);
  }

  private detach(s: SocketLike): void {
    // onerror stays a no-op: `ws` emits an error when a socket still connecting is closed, and
    // with no listener left that error would be thrown (test/ws_socket.test.ts).
    s.onopen = s.onmessage = s.onclose = null;
  }

  private clearTimer(): void {
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
    this.clearWatchdog();
  }

  private clearWatchdog(): void {
    if (this.watchdog !== null) this.timers.clearTimeout(this.watchdog);
    this.watchdog = null;
    if (this.pinger !== null) this.timers.clearTimeout(this.pinger);
    this.pinger = null;
  }

  /** Sends a ping every pingIntervalMs while the session lasts. */
  private schedulePing(): void {
    if (this.pingIntervalMs <= 0) return;
    const s = this.socket;
    this.pinger = this.timers.setTimeout(() => {
      this.pinger = null;
      if (this.socket !== s || this.phase !== 'session') return;
      // `t` is the client clock, an integer >= 0 (the node refuses others); kept to match the pong.
      let t = Math.max(0, Math.floor(this.now()));
      while (this.pingsOut.has(t)) ++t;
      if (this.pingsOut.size >= 16) this.pingsOut.clear();  // a node that never answers
      this.pingsOut.add(t);
      this.send(this.wire.ping(t));
      this.schedulePing();
    }, this.pingIntervalMs);
  }

  /** (Re)starts the silence timeout: called on every frame of a session. */
  private armWatchdog(): void {
    if (this.silenceTimeoutMs <= 0) return;
    if (this.watchdog !== null) this.timers.clearTimeout(this.watchdog);
    const s = this.socket;
    this.watchdog = this.timers.setTimeout(() => {
      this.watchdog = null;
      if (this.socket === s && this.phase === 'session') {
        this.lost(1006, `no frame for ${this.silenceTimeoutMs} ms`);
      }
    }, this.silenceTimeoutMs);
  }

  private send(frame: string | Uint8Array): void {
    try {
      this.socket?.send(frame);
    } catch {
      // the socket is closing; its close event starts the reconnect and the resend
    }
  }

  /** The session (or the attempt) ended: reconnect to the next region, or stop. */
  private lost(code: number, reason: string): void {
    if (this.phase === 'closed') return;
    this.clearTimer();
    const s = this.socket;
    this.socket = null;
    if (s) {
      this.detach(s);
      try {
        s.close();
      } catch {
        // already closed
      }
    }
    if (this.fatal) {
      this.emit('error', this.fatal);
      this.stop(code, reason);
      return;
    }
    ++this.attempts;
    if (this.attempts > this.maxAttempts) {
      this.emit('error', { kind: 'gave_up', message: `no session after ${this.maxAttempts} attempts (last close ${code} ${reason})` });
      this.stop(code, reason);
      return;
    }
    this.urlIndex = (this.urlIndex + 1) % this.urls.length;
    const delayMs = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (this.attempts - 1));
    this.phase = 'waiting';
    this.emit('reconnecting', { attempt: this.attempts, url: this.urls[this.urlIndex], delayMs, closeCode: code });
    if (this.phase !== 'waiting') return;  // a listener closed the client
    this.timer = this.timers.setTimeout(() => {
      this.timer = null;
      if (this.phase === 'waiting') this.open();
    }, delayMs);
  }

  private onFrame(data: unknown): void {
    if (this.phase === 'session') this.armWatchdog();
    const f = this.wire.decode(data);
    switch (f.type) {
      case 'malformed':
        this.emit('error', { kind: 'malformed_frame', message: f.why, raw: f.raw });
        return;
      case 'welcome':
        return this.onWelcome(f);
      case 'state':
        return this.onState(f);
      case 'reject':
        this.predictor.refuse(f.seq);
        this.emit(f.reason === 'conflict_lost' ? 'conflictLost' : 'reject', f);
        return;
      case 'error':
        if (f.seq !== undefined && f.seq > 0) this.predictor.refuse(f.seq);
        if (f.code === ErrorCode.authFailed) {
          // The node closes with 1008 next; a reconnect would be refused the same way.
          this.fatal = { kind: 'auth_failed', message: f.message, frame: f };
          return;
        }
        this.emit('error', { kind: 'server_error', message: `${f.code} ${f.name}: ${f.message}`, frame: f });
        return;
      case 'pong':
        if (this.pingsOut.delete(f.t)) this.rtt = Math.max(0, this.now() - f.t);
        return;
    }
  }

  private onWelcome(w: WelcomeFrame): void {
    if (this.phase !== 'hello_sent') {
      this.emit('error', { kind: 'malformed_frame', message: 'a second welcome in one session', raw: JSON.stringify(w) });
      return;
    }
    this.clearTimer();
    this.phase = 'session';
    this.armWatchdog();
    this.pingsOut.clear();
    this.schedulePing();
    this.attempts = 0;
    this.playerId = w.player;
    this.regionName = w.region;
    this.snapshots.clear();
    const resumed = this.sessions > 0;
    ++this.sessions;
    this.emit('welcome', w);
    // Everything after the last ack goes again, in order and without gaps (docs/protocol.md,
    // "hello"): decided anew by this region, so earlier refusals are forgotten.
    this.predictor.resetRefusals();
    const resent: number[] = [];
    for (const a of this.predictor.unacked) {
      this.send(this.wire.action(a, undefined));
      resent.push(a.seq);
    }
    if (resumed) {
      this.emit('resumed', { url: this.urls[this.urlIndex], region: w.region, lastAck: this.predictor.ack, resent });
    }
  }

  private onState(f: StateFrame): void {
    if (this.phase !== 'session') {
      this.emit('error', { kind: 'malformed_frame', message: 'a state frame before welcome', raw: JSON.stringify(f) });
      return;
    }
    this.lastTick = f.tick;
    const before = this.predictor.ack;
    const me = this.playerId === undefined ? undefined : f.entities.find((e) => e.id === this.playerId);
    const reconciliation = this.predictor.reconcile(f.ack, me);
    this.snapshots.push({ time: this.now(), entities: f.entities });
    if (!this.synced) {
      this.synced = true;
      this.nextSeq = Math.max(this.nextSeq, f.ack + 1);
      this.emit('ready', { ack: f.ack });
    }
    if (this.predictor.ack > before) this.emit('ack', { ack: this.predictor.ack });
    this.emit('state', { frame: f, reconciliation });
  }
}
