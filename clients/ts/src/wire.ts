// The two wire forms behind one interface: what the client sends as text (`worldline.json`) or
// as packed Cap'n Proto in binary frames (`worldline.capnp`), and how it reads what the node sends.
// The client picks one with `ClientOptions.wire` and offers only that subprotocol.
import { JSON_SUBPROTOCOL, encodeAction, encodeHello, encodePing, parseServerFrame, type MalformedFrame, type SequencedAction, type ServerFrame } from './protocol.js';
import { CAPNP_SUBPROTOCOL, encodeActionCapnp, encodeHelloCapnp, encodePingCapnp, parseServerCapnp } from './protocol_capnp.js';

/** `json`: text frames of JSON (`worldline.json`); `capnp`: binary frames of packed Cap'n Proto (`worldline.capnp`). */
export type WireForm = 'json' | 'capnp';

export interface WireCodec {
  readonly form: WireForm;
  readonly subprotocol: string;
  hello(token: string, lastAck?: number): string | Uint8Array;
  action(a: SequencedAction, seen?: number): string | Uint8Array;
  ping(t: number): string | Uint8Array;
  /** A frame's `data` as a socket hands it over (string, ArrayBuffer, Buffer or another view). */
  decode(data: unknown): ServerFrame | MalformedFrame;
}

function bytesOf(data: unknown): Uint8Array | null {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return null;
}

const jsonCodec: WireCodec = {
  form: 'json',
  subprotocol: JSON_SUBPROTOCOL,
  hello: encodeHello,
  action: encodeAction,
  ping: encodePing,
  decode(data) {
    // `ws` hands text frames over as strings; bytes (a Buffer, an ArrayBuffer) are read as UTF-8.
    const bytes = typeof data === 'string' ? null : bytesOf(data);
    if (typeof data !== 'string' && bytes === null) {
      return { type: 'malformed', why: 'a frame of neither text nor bytes under worldline.json', raw: String(data) };
    }
    return parseServerFrame(typeof data === 'string' ? data : new TextDecoder().decode(bytes!));
  },
};

const capnpCodec: WireCodec = {
  form: 'capnp',
  subprotocol: CAPNP_SUBPROTOCOL,
  hello: encodeHelloCapnp,
  action: encodeActionCapnp,
  ping: encodePingCapnp,
  decode(data) {
    if (typeof data === 'string') return { type: 'malformed', why: 'a text frame under worldline.capnp', raw: data };
    const bytes = bytesOf(data);
    // A browser socket left at binaryType 'blob' would hand over Blobs: the client sets 'arraybuffer'.
    if (bytes === null) return { type: 'malformed', why: 'a binary frame that is not an ArrayBuffer or a view of one', raw: String(data) };
    return parseServerCapnp(bytes);
  },
};

export function wireCodec(form: WireForm): WireCodec {
  switch (form) {
    case 'json':
      return jsonCodec;
    case 'capnp':
      return capnpCodec;
    default:
      throw new Error(`unknown wire form ${JSON.stringify(form)}: 'json' or 'capnp'`);
  }
}
