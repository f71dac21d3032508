// The small HTTP servers tests stand up on loopback (stand-ins for cloud endpoints): bounded in
// time, on a free port of 127.0.0.1, and closed without waiting for clients' keep-alive sockets.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Listens on 127.0.0.1 (a free port) with bounded header and request times; resolves with the port. */
export async function listenOnLoopback(server: Server, requestTimeoutMs = 10_000): Promise<number> {
  server.headersTimeout = 5_000;
  server.requestTimeout = requestTimeoutMs;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** Closes the server and every connection still open (idle keep-alive ones included). */
export async function closeServer(server: Server | undefined): Promise<void> {
  if (!server) return;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await closed;
}
