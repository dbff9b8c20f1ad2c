/**
 * TCP (`Transport.TCP`). The listener stops accepting and the connected
 * clients are no longer read from; what they had sent and was read is
 * answered before the sockets close.
 */
import type { MicroserviceServer, TransportStop } from './transport.stop.js';

export const tcpTransport: TransportStop = {
  name: 'TCP',

  async stopReceiving(server: MicroserviceServer): Promise<void> {
    (server.server as { close?(): unknown } | undefined)?.close?.();
    (server.openSockets as Set<{ pause?(): unknown }> | undefined)?.forEach((socket) => socket.pause?.());
  },
};
