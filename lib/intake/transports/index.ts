import type { MicroserviceServer, TransportStop } from './transport.stop.js';
import { grpcTransport } from './grpc.transport.js';
import { kafkaTransport } from './kafka.transport.js';
import { mqttTransport } from './mqtt.transport.js';
import { natsTransport } from './nats.transport.js';
import { redisTransport } from './redis.transport.js';
import { rmqTransport } from './rmq.transport.js';
import { tcpTransport } from './tcp.transport.js';

export type { MicroserviceServer, ReplyTracker, TransportStop } from './transport.stop.js';

/** The transports Nest ships, by `transportId` (`Transport` of @nestjs/microservices). */
const TRANSPORTS: Record<number, TransportStop> = {
  0: tcpTransport,
  1: redisTransport,
  2: natsTransport,
  3: mqttTransport,
  4: grpcTransport,
  5: rmqTransport,
  6: kafkaTransport,
};

/**
 * How `server` stops receiving. A custom strategy (its own `transportId`)
 * has no primitive the module knows: its handlers are counted and awaited,
 * and it is closed once they have ended.
 */
export function transportOf(server: MicroserviceServer): TransportStop {
  const known = typeof server.transportId === 'number' ? TRANSPORTS[server.transportId] : undefined;
  return known ?? { name: (server.constructor as { name?: string } | undefined)?.name || 'custom', stopReceiving: () => Promise.resolve() };
}
