/**
 * Redis (`Transport.REDIS`, ioredis pub/sub). The subscriber leaves its
 * channels; the publisher connection stays open for the replies. Redis
 * pub/sub has no delivery guarantee: a message published while no instance
 * is subscribed is gone, whatever the drain does.
 */
import { callIfThere, type MicroserviceServer, type TransportStop } from './transport.stop.js';

export const redisTransport: TransportStop = {
  name: 'Redis',

  async stopReceiving(server: MicroserviceServer): Promise<void> {
    await Promise.all([callIfThere(server.subClient, 'unsubscribe'), callIfThere(server.subClient, 'punsubscribe')]);
  },
};
