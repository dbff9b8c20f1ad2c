/**
 * MQTT (`Transport.MQTT`, mqtt.js). Nest's `close()` calls `end()` without
 * waiting, while handlers of acknowledged messages still run. Here the
 * server's topics are unsubscribed first (a shared subscription's next
 * messages go to its other members), the handlers finish, and the client
 * ends once what it publishes (the replies) has gone out.
 */
import { patternsOf, type MicroserviceServer, type TransportStop } from './transport.stop.js';

interface MqttClient {
  unsubscribe(topics: string[], callback: (error?: Error) => void): unknown;
  end(force: boolean, options: object, callback: () => void): unknown;
}
type Handler = { isEventHandler?: boolean };

/** The topics Nest subscribed: an event's pattern, or a request's pattern with its `/reply`-less request suffix. */
function topicsOf(server: MicroserviceServer): string[] {
  const requestTopic = server.getRequestPattern as ((pattern: string) => string) | undefined;
  return patternsOf(server).map((pattern) => {
    const handler = server.messageHandlers?.get(pattern) as Handler | undefined;
    return handler?.isEventHandler || typeof requestTopic !== 'function' ? pattern : requestTopic.call(server, pattern);
  });
}

export const mqttTransport: TransportStop = {
  name: 'MQTT',

  stopReceiving(server: MicroserviceServer): Promise<void> {
    const client = server.mqttClient as MqttClient | undefined;
    const topics = topicsOf(server);
    if (!client || topics.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => client.unsubscribe(topics, (error) => (error ? reject(error) : resolve())));
  },

  close(server: MicroserviceServer): Promise<void> {
    const client = server.mqttClient as MqttClient | undefined;
    if (!client) return Promise.resolve();
    // Not forced: the client sends what is queued (the replies) before it disconnects.
    return new Promise((resolve) => client.end(false, {}, () => resolve()));
  },
};
