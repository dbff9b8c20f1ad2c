/**
 * RabbitMQ (`Transport.RMQ`, amqplib under amqp-connection-manager). Nest's
 * `close()` closes the channel without cancelling its consumer: with `noAck`
 * amqplib drops what arrives meanwhile, and replies still queued in the
 * channel wrapper are rejected or never sent. Here the consumer is
 * cancelled first (the broker keeps, or requeues, what it has not
 * delivered), the handlers of what was delivered finish, and every reply is
 * confirmed before the channel closes.
 */
import type { MicroserviceServer, ReplyTracker, TransportStop } from './transport.stop.js';

/** amqplib's channel: its consumers by tag. */
interface AmqpChannel {
  consumers?: Map<string, unknown>;
  cancel(consumerTag: string): Promise<unknown>;
}
/** amqp-connection-manager's ChannelWrapper, which Nest keeps as `server.channel`. */
interface ChannelWrapper {
  _channel?: AmqpChannel;
  sendToQueue(...args: unknown[]): Promise<unknown>;
}

const WATCHED = Symbol('nestjs-graceful.rmq-replies');

export const rmqTransport: TransportStop = {
  name: 'RabbitMQ',

  /** Nest sends replies through the wrapper and drops the promise: count each until the broker confirms it. */
  watch(server: MicroserviceServer, replies: ReplyTracker): void {
    const wrapper = server.channel as (ChannelWrapper & { [WATCHED]?: true }) | undefined;
    if (!wrapper || wrapper[WATCHED] || typeof wrapper.sendToQueue !== 'function') return;
    const send = wrapper.sendToQueue.bind(wrapper);
    wrapper.sendToQueue = (...args: unknown[]) => replies.around(send(...args));
    wrapper[WATCHED] = true;
  },

  async stopReceiving(server: MicroserviceServer): Promise<void> {
    const channel = (server.channel as ChannelWrapper | undefined)?._channel;
    if (!channel?.consumers) return;
    await Promise.all([...channel.consumers.keys()].map((tag) => channel.cancel(tag)));
  },
};
