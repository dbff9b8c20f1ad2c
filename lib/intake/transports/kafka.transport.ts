/**
 * Kafka (`Transport.KAFKA`, kafkajs). Nest's `close()` disconnects the
 * consumer. Here the consumer pauses its topics first (the rest of a
 * fetched batch is not handed out, and its offsets are not committed, so
 * another member of the group gets those messages), the handlers in progress
 * finish, and `stop()` commits the offsets of what finished before Nest
 * disconnects. No Kafka broker runs where this package is tested: this file
 * is tested against a consumer of kafkajs' shape, not a broker.
 */
import { callIfThere, patternsOf, type MicroserviceServer, type TransportStop } from './transport.stop.js';

interface KafkaConsumer {
  pause(topics: Array<{ topic: string }>): void;
  stop(): Promise<void>;
}

export const kafkaTransport: TransportStop = {
  name: 'Kafka',

  async stopReceiving(server: MicroserviceServer): Promise<void> {
    const consumer = server.consumer as KafkaConsumer | undefined;
    if (!consumer || typeof consumer.pause !== 'function') return;
    for (const topic of patternsOf(server)) {
      try {
        consumer.pause([{ topic }]);
      } catch {
        // A pattern the consumer did not subscribe (a reply topic): nothing to pause.
      }
    }
  },

  async flush(server: MicroserviceServer): Promise<void> {
    await callIfThere(server.consumer, 'stop');
  },
};
