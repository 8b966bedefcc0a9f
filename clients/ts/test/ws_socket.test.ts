// The client over real sockets of the npm `ws` package (wsSocketFactory), against local servers
// that misbehave in ways a fake socket cannot: one that accepts TCP and never answers the
// upgrade, one that closes a session with a protocol close code.
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { WebSocketServer } from 'ws';
import { WorldlineClient, type ClientEvents } from '../src/index.js';
import { wsSocketFactory } from '../src/node.js';
import { decodeClientCapnp, encodeServerCapnp } from '../src/protocol_capnp.js';

function listen(server: net.Server | WebSocketServer): Promise<number> {
  return new Promise((resolve) => {
    if (server instanceof WebSocketServer) server.on('listening', () => resolve((server.address() as net.AddressInfo).port));
    else server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port));
  });
}

describe('WorldlineClient over ws sockets', () => {
  it('gives up on a server that never answers the upgrade, without throwing', async () => {
    const held: net.Socket[] = [];
    const silent = net.createServer((s) => held.push(s));
    const port = await listen(silent);
    const log: Array<keyof ClientEvents> = [];
    const c = new WorldlineClient({
      urls: [`ws://127.0.0.1:${port}/`], token: 't', socket: wsSocketFactory,
      helloTimeoutMs: 150, reconnect: { maxAttempts: 1, baseDelayMs: 10 },
    });
    for (const ev of ['reconnecting', 'error', 'closed'] as const) c.on(ev, () => log.push(ev));
    const closed = c.next('closed');
    const errors: string[] = [];
    c.on('error', (e) => errors.push(e.kind));
    c.connect();
    await closed;
    assert.deepEqual(log, ['reconnecting', 'error', 'closed']);
    assert.deepEqual(errors, ['gave_up']);
    assert.equal(held.length, 2, 'two connections: the first and the one retry');
    for (const s of held) s.destroy();
    silent.close();
  });

  it('reconnects after a 4013 close (authority moved) and resumes with the last ack', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: (p) => (p.has('worldline.json') ? 'worldline.json' : false) });
    const port = await listen(wss);
    const hellos: unknown[] = [];
    let n = 0;
    wss.on('connection', (ws) => {
      const session = ++n;
      ws.on('message', (data) => {
        const f = JSON.parse(data.toString());
        if (f.type !== 'hello') return;
        hellos.push(f);
        ws.send(JSON.stringify({ type: 'welcome', player: 9, region: `r${session}`, tick_hz: 20, ack: f.resume?.last_ack ?? 0 }));
        ws.send(JSON.stringify({ type: 'state', tick: 5, ack: 12, entities: [{ id: 9, x: 1, y: 2, z: 3, health: 100 }], removed: [] }));
        if (session === 1) {
          ws.send(JSON.stringify({ type: 'error', code: 4013, name: 'authority_moved', message: 'region 2 epoch 3' }));
          ws.close(4013, 'authority moved');
        }
      });
    });
    const c = new WorldlineClient({ urls: [`ws://127.0.0.1:${port}/`], token: 'tok', socket: wsSocketFactory,
      reconnect: { baseDelayMs: 10 } });
    const reconnecting = c.next('reconnecting');
    const resumed = c.next('resumed');
    c.connect();
    assert.equal((await reconnecting).closeCode, 4013);
    assert.deepEqual(await resumed, { url: `ws://127.0.0.1:${port}/`, region: 'r2', lastAck: 12, resent: [] });
    assert.deepEqual(hellos, [{ type: 'hello', token: 'tok' }, { type: 'hello', token: 'tok', resume: { last_ack: 12 } }]);
    assert.deepEqual(c.predicted, { id: 9, x: 1, y: 2, z: 3, health: 100 });
    c.close();
    wss.close();
  });

  it('speaks the binary form over a real socket: binary frames both ways, the subprotocol agreed', async () => {
    let offered: string[] = [];
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: (p) => {
      offered = [...p];
      return p.has('worldline.capnp') ? 'worldline.capnp' : false;
    } });
    const port = await listen(wss);
    const got: Array<{ binary: boolean; frame: unknown }> = [];
    wss.on('connection', (ws) => {
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        const f = decodeClientCapnp(new Uint8Array(data));
        got.push({ binary: isBinary, frame: f });
        if (f.type === 'hello') {
          ws.send(encodeServerCapnp({ type: 'welcome', player: 9, region: 'r', tick_hz: 20, ack: 0 }));
          ws.send(encodeServerCapnp({ type: 'state', tick: 5, ack: 12, entities: [{ id: 9, x: 1, y: 2, z: 3, health: 100 }], removed: [] }));
        } else if (f.type === 'action') {
          ws.send(encodeServerCapnp({ type: 'state', tick: 6, ack: f.seq, entities: [{ id: 9, x: 4, y: 2, z: 3, health: 100 }], removed: [] }));
        }
      });
    });
    const c = new WorldlineClient({ urls: [`ws://127.0.0.1:${port}/`], token: 'tok', socket: wsSocketFactory, wire: 'capnp', pingIntervalMs: 0 });
    const ready = c.next('ready');
    c.connect();
    assert.deepEqual(await ready, { ack: 12 });
    const acked = c.next('ack');
    assert.equal(c.act({ kind: 'move', args: { x: 4, y: 2, z: 3 } }), 13);
    assert.deepEqual(await acked, { ack: 13 });
    assert.deepEqual(offered, ['worldline.capnp']);
    assert.deepEqual(got.map((g) => [g.binary, g.frame]), [
      [true, { type: 'hello', token: 'tok' }],
      [true, { type: 'action', seq: 13, kind: 'move', t: (got[1].frame as { t: number }).t, seen: 5, args: { x: 4, y: 2, z: 3, target: 0 } }],
    ]);
    assert.deepEqual(c.predicted, { id: 9, x: 4, y: 2, z: 3, health: 100 });
    c.close();
    wss.close();
  });
});
