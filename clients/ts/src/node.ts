// Node.js glue: sockets from the npm `ws` package (Node 18 and 20 have no global WebSocket).
// Kept apart from the main entry so that browser bundles never import `ws`.

import WebSocket from 'ws';
import type { SocketFactory, SocketLike } from './client.js';

/** A {@link SocketFactory} for Node.js built on `ws` (an optional peer dependency). */
export const wsSocketFactory: SocketFactory = (url, protocols) =>
  new WebSocket(url, protocols) as unknown as SocketLike;
