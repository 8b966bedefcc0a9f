// @worldline/client — the TypeScript client SDK of worldline (docs/protocol.md, both wire forms).
export { WorldlineClient } from './client.js';
export type {
  ClientError,
  ClientErrorKind,
  ClientEvents,
  ClientOptions,
  ReconnectOptions,
  SocketFactory,
  SocketLike,
  Timers,
} from './client.js';
export { TypedEmitter } from './emitter.js';
export { SnapshotBuffer, interpolateEntities, lerp } from './interpolation.js';
export type { Snapshot } from './interpolation.js';
export { Predictor } from './prediction.js';
export type { PredictionOptions, Reconciliation, StepFunction } from './prediction.js';
export { ErrorCode, JSON_SUBPROTOCOL, encodeAction, encodeHello, encodePing, parseServerFrame } from './protocol.js';
export type {
  ActionArgs,
  ActionInput,
  ActionKind,
  Direction,
  EntityState,
  ErrorFrame,
  MalformedFrame,
  PongFrame,
  RejectFrame,
  RejectReason,
  SequencedAction,
  ServerFrame,
  StateFrame,
  WelcomeFrame,
} from './protocol.js';
export {
  CAPNP_SUBPROTOCOL,
  decodeClientCapnp,
  encodeActionCapnp,
  encodeHelloCapnp,
  encodePingCapnp,
  encodeServerCapnp,
  parseServerCapnp,
} from './protocol_capnp.js';
export type { ClientFrameValue } from './protocol_capnp.js';
export type { WireForm } from './wire.js';
