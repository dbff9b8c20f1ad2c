/**
 * NATS (`Transport.NATS`, @nats-io/transport-node in Nest 12, `nats` in 11).
 * Nest's `close()` closes the connection, ending its subscriptions and the
 * messages they had not handed out (it drains only with its own
 * `gracefulShutdown` option, by a fixed grace period). Here every
 * subscription is drained (unsubscribed, and what had already arrived handed
 * to the handlers: a queue group's next messages go to its other members),
 * and the replies are flushed before the connection closes.
 */
import { callIfThere, type MicroserviceServer, type TransportStop } from './transport.stop.js';

interface Subscription {
  drain?(): Promise<void>;
  unsubscribe(): void;
  isClosed?: boolean | (() => boolean);
}

export const natsTransport: TransportStop = {
  name: 'NATS',

  async stopReceiving(server: MicroserviceServer): Promise<void> {
    const subscriptions = (server.subscriptions as Subscription[] | undefined) ?? [];
    await Promise.all(subscriptions.map((subscription) => (subscription.drain ? subscription.drain() : subscription.unsubscribe())));
  },

  async flush(server: MicroserviceServer): Promise<void> {
    await callIfThere(server.natsClient, 'flush');
  },
};
