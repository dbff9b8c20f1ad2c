/**
 * gRPC (`Transport.GRPC`, @grpc/grpc-js). Nest's `close()` calls
 * `forceShutdown()` (calls in progress are cancelled) unless its
 * `gracefulShutdown` option is set. Here `tryShutdown()` starts at the drain:
 * no new call is taken (the listeners close; connections get a GOAWAY, so
 * clients send their next calls to another instance) and the calls in
 * progress, streams too, run to their end.
 */
import type { MicroserviceServer, TransportStop } from './transport.stop.js';

interface GrpcServer {
  tryShutdown(callback: (error?: Error) => void): void;
}

const SHUTDOWN = Symbol('nestjs-graceful.grpc-shutdown');

export const grpcTransport: TransportStop = {
  name: 'gRPC',

  stopReceiving(server: MicroserviceServer & { [SHUTDOWN]?: Promise<void> }): Promise<void> {
    const grpc = server.grpcClient as GrpcServer | undefined;
    if (grpc && typeof grpc.tryShutdown === 'function') {
      // Ends once the calls in progress have: awaited by flush(), after the handlers' own count.
      server[SHUTDOWN] ??= new Promise((resolve) => grpc.tryShutdown(() => resolve()));
    }
    return Promise.resolve();
  },

  async flush(server: MicroserviceServer & { [SHUTDOWN]?: Promise<void> }): Promise<void> {
    await server[SHUTDOWN];
  },
};
