/**
 * TCP (`Transport.TCP`). The listener stops accepting and the connected
 * clients are no longer read from; what they had sent and was read is
 * answered, and each socket is ended once its replies are written (Nest's
 * `close()` destroys them, which drops replies still in the socket's buffer).
 */
import type { Socket } from 'node:net';
import type { MicroserviceServer, TransportStop } from './transport.stop.js';

export const tcpTransport: TransportStop = {
  name: 'TCP',

  async stopReceiving(server: MicroserviceServer): Promise<void> {
    (server.server as { close?(): unknown } | undefined)?.close?.();
    (server.openSockets as Set<{ pause?(): unknown }> | undefined)?.forEach((socket) => socket.pause?.());
  },

  async flush(server: MicroserviceServer): Promise<void> {
    const sockets = [...((server.openSockets as Set<Socket> | undefined) ?? [])];
    await Promise.all(
      sockets.map(
        (socket) =>
          new Promise<void>((resolve) => {
            if (socket.destroyed || socket.writableFinished) return resolve();
            socket.end(() => resolve());
          }),
      ),
    );
  },
};
