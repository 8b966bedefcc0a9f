// The README's example, compiled by `tsc` with the rest so that it stays true to the API.
import { WorldlineClient, type EntityState, type SequencedAction } from '../src/index.js';
import { wsSocketFactory } from '../src/node.js';  // in an app: '@worldline/client/node'

// The game's rule for a move, as the client predicts it: the player goes where it says.
function step(me: EntityState, input: SequencedAction): EntityState {
  if (input.kind !== 'move' || !input.args) return me;
  return { ...me, x: input.args.x ?? me.x, y: input.args.y ?? me.y, z: input.args.z ?? me.z };
}
const client = new WorldlineClient<EntityState>({
  urls: ['ws://127.0.0.1:8101/', 'ws://127.0.0.1:8102/'],  // resumes on the next one if a region dies
  token: process.env.WORLDLINE_TOKEN ?? '',                // `worldline token --player 42 --secret …`
  socket: wsSocketFactory,                                 // in a browser: leave out (global WebSocket)
  wire: 'capnp',                                           // binary frames; 'json' (the default): text
  prediction: { step, epsilon: 0.01 },
});

client.on('ready', () => {
  let x = client.predicted?.x ?? 0;
  setInterval(() => client.act({ kind: 'move', args: { x: (x += 0.4), y: 0, z: 0 } }), 50);
});
client.on('state', () => {
  const others = client.interpolated();  // other players and items, 100 ms behind, smoothed
  console.log(`me at ${client.predicted?.x.toFixed(1)}, ack ${client.ack}, ` +
    `${client.unacked.length} in flight, ${client.corrections} corrections, ${others.length} others`);
});
client.on('reject', (r) => console.warn(`action ${r.seq} refused: ${r.reason} (${r.detail})`));
client.on('conflictLost', (r) => console.warn(`pickup ${r.seq} lost afterwards: ${r.detail}`));
client.on('reconnecting', (r) => console.warn(`lost the region; trying ${r.url} in ${r.delayMs} ms`));
client.on('resumed', (r) => console.log(`resumed in ${r.region} after ack ${r.lastAck}, resent ${r.resent}`));
client.on('error', (e) => console.error(`${e.kind}: ${e.message}`));
client.connect();
