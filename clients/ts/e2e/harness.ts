// What the end-to-end test needs around the SDK: waits for a condition with a deadline that fail
// naming what was awaited and what the client saw instead, a node's /healthz, and a socket factory
// that taps every session (the subprotocol the node agreed to, text or binary frames, the longest
// silence between two frames) so that the test can check the wire form it asked for is the one
// spoken. No wait here sleeps for a fixed time: each resolves as soon as its condition holds.
import net from 'node:net';
import { WorldlineClient, type ClientEvents, type ClientOptions, type WireForm, type EntityState, type RejectFrame, type SocketFactory, type SocketLike } from '../src/index.js';
import { wsSocketFactory } from '../src/node.js';

export function env(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run this through clients/ts/test.sh <path to worldline>`);
  return v;
}

/** The deadline of one awaited condition: far above what a node needs (an ASan node on a
 *  loaded 2-core machine answers within a second), so that a miss means something is wrong. */
export const DEADLINE_MS = 10_000;

/** What the test saw of one client: its sessions, frames, refusals, errors and reconnects. */
export interface Watch {
  name: string;
  client: WorldlineClient<EntityState>;
  /** The subprotocol the node agreed to, per session (`ws`'s `protocol` after the upgrade). */
  protocols: string[];
  /** 'text' and/or 'binary': the kinds of frame received. */
  frameKinds: Set<string>;
  /** The longest time between two frames of one session, ms. */
  maxGapMs: number;
  rejects: RejectFrame[];
  conflictsLost: RejectFrame[];
  errors: string[];
  reconnects: Array<ClientEvents['reconnecting']>;
  last?: ClientEvents['state']['frame'];
}

/** A one-line account of a client, for failure messages. */
export function describeWatch(w: Watch): string {
  const c = w.client;
  const f = w.last;
  const me = f?.entities.find((e) => e.id === c.player);
  return `${w.name}: region ${c.region ?? '-'}, ${c.inSession ? 'in session' : 'not in session'}, ack ${c.ack}, ` +
    `lastSeq ${c.lastSeq}, last frame ${f ? `tick ${f.tick} ack ${f.ack} at ${me ? `(${me.x}, ${me.y}, ${me.z})` : 'no own entity'}` +
      ` with ${f.entities.length} entities` : 'none'}, rejects ${JSON.stringify(w.rejects)}, ` +
    `conflicts lost ${JSON.stringify(w.conflictsLost)}, errors ${JSON.stringify(w.errors)}, ` +
    `reconnects ${JSON.stringify(w.reconnects)}`;
}

/** A socket factory around the SDK's own (`wsSocketFactory`) that records into `w`. */
function tapped(w: () => Watch): SocketFactory {
  return (url, protocols) => {
    const inner = wsSocketFactory(url, protocols) as SocketLike & { protocol?: string };
    let lastFrameAt: number | undefined;
    const outer: SocketLike = {
      send: (data) => inner.send(data),
      close: (code, reason) => inner.close(code, reason),
      get binaryType() { return inner.binaryType; },
      set binaryType(t) { inner.binaryType = t; },
      onopen: null, onmessage: null, onclose: null, onerror: null,
    };
    inner.onopen = (ev) => {
      w().protocols.push(inner.protocol ?? '');
      outer.onopen?.(ev);
    };
    inner.onmessage = (ev) => {
      const now = Date.now();
      const watch = w();
      if (lastFrameAt !== undefined) watch.maxGapMs = Math.max(watch.maxGapMs, now - lastFrameAt);
      lastFrameAt = now;
      watch.frameKinds.add(typeof ev.data === 'string' ? 'text' : 'binary');
      outer.onmessage?.(ev);
    };
    inner.onclose = (ev) => outer.onclose?.(ev);
    inner.onerror = (ev) => outer.onerror?.(ev);  // always set: `ws` throws an error nobody listens to
    return outer;
  };
}

/** A client of the wire form `wire`, watched. */
export function watchedClient(name: string, wire: WireForm, urls: string[], token: string,
  options: Partial<ClientOptions<EntityState>>): Watch {
  let watch: Watch | undefined;
  const client = new WorldlineClient<EntityState>({ urls, token, wire, socket: tapped(() => watch!), ...options });
  const w: Watch = {
    name, client, protocols: [], frameKinds: new Set(), maxGapMs: 0,
    rejects: [], conflictsLost: [], errors: [], reconnects: [],
  };
  watch = w;
  client.on('state', (s) => { w.last = s.frame; });
  client.on('reject', (r) => w.rejects.push(r));
  client.on('conflictLost', (r) => w.conflictsLost.push(r));
  client.on('error', (e) => w.errors.push(`${e.kind}: ${e.message}`));
  client.on('reconnecting', (r) => w.reconnects.push(r));
  return w;
}

/**
 * Resolves with the first `event` of `w`'s client whose payload satisfies `pred`. Rejects after
 * DEADLINE_MS with `what` and the client's account. Subscribe before doing what triggers it.
 */
export function waitFor<K extends keyof ClientEvents>(w: Watch, event: K, what: string,
  pred: (p: ClientEvents[K]) => boolean = () => true): Promise<ClientEvents[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      w.client.off(event, l);
      reject(new Error(`${DEADLINE_MS} ms without ${what} (event ${String(event)}; ${describeWatch(w)})`));
    }, DEADLINE_MS);
    const l = (p: ClientEvents[K]): void => {
      if (!pred(p)) return;
      clearTimeout(timer);
      w.client.off(event, l);
      resolve(p);
    };
    w.client.on(event, l);
  });
}

/**
 * Resolves once `cond()` holds, checked now and after every state frame of `watches`' clients.
 * Rejects after DEADLINE_MS naming `what` and every client's account.
 */
export function until(watches: Watch[], what: string, cond: () => boolean): Promise<void> {
  if (cond()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (!cond()) return;
      done();
      resolve();
    };
    const done = (): void => {
      clearTimeout(timer);
      for (const w of watches) w.client.off('state', check);
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`${DEADLINE_MS} ms without ${what} (${watches.map(describeWatch).join('; ')})`));
    }, DEADLINE_MS);
    for (const w of watches) w.client.on('state', check);
  });
}

/** One GET /healthz: true on a 200, false on anything else within `timeoutMs`. */
function probe(port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    let got = '';
    const sock = net.connect(port, '127.0.0.1', () => sock.end('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
    sock.setTimeout(timeoutMs, () => sock.destroy());  // accepted but never answered: a paused node
    sock.on('data', (d) => { got += d.toString(); });
    sock.on('close', () => resolve(/^HTTP\/1\.1 200 /.test(got)));
    sock.on('error', () => resolve(false));
  });
}

/**
 * Resolves once GET /healthz on `port` answers 200. Rejects when `exited()` says the node's
 * process is gone, or after `deadlineMs`, naming `what`.
 */
export async function healthy(port: number, what: string, deadlineMs: number,
  exited: () => string | undefined = () => undefined): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const gone = exited();
    if (gone) throw new Error(`${what} exited before /healthz on port ${port} answered 200: ${gone}`);
    if (await probe(port, 1000)) return;
    if (Date.now() >= deadline) throw new Error(`${what}: GET /healthz on port ${port} not 200 within ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, 50));  // the interval between probes, not a wait for the node
  }
}
