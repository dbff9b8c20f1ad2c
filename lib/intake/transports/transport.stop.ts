/**
 * How one microservice transport stops taking messages. The drain of a
 * server is the same for every transport (lib/intake/microservice.intake.ts):
 * count what was received, stop receiving, wait for the handlers taken and
 * their replies, deliver what they left to send, close once. Only the
 * primitives differ, and each transport's are in its own small file.
 */

/** A `Server` of @nestjs/microservices, as far as the drain reads it; each transport reads its own fields. */
export type MicroserviceServer = {
  transportId?: unknown;
  close(): unknown;
  messageHandlers?: Map<string, unknown>;
} & Record<string, unknown>;

/** Where a transport reports the replies it sends, so that the drain waits for them and counts those lost. */
export interface ReplyTracker {
  /** Counts `reply` (a publish's promise) until it settles; a rejection is a lost reply. Returns it, handled. */
  around<T>(reply: T): T;
}

export interface TransportStop {
  /** As the plan and the timeline name it: `RabbitMQ` gives `RabbitMQ microservice`. */
  readonly name: string;
  /** As each message arrives, before its handler: wrap what must be watched (once; it is called often). */
  watch?(server: MicroserviceServer, replies: ReplyTracker): void;
  /**
   * Stops taking new messages with the transport's own primitive. Messages
   * already received are still handled; those not yet taken stay with the
   * broker for another instance. Resolves once the broker has confirmed.
   */
  stopReceiving(server: MicroserviceServer): Promise<void>;
  /** Once the handlers taken have ended: delivers what they left to send (replies, acks, offsets). */
  flush?(server: MicroserviceServer): Promise<void>;
  /** Closes in a way that waits for what is on its way out; Nest's own `close()` runs after it. */
  close?(server: MicroserviceServer): Promise<void>;
}

/** The message patterns the server has handlers for: subjects, topics, queues' routing keys. */
export function patternsOf(server: MicroserviceServer): string[] {
  return server.messageHandlers ? [...server.messageHandlers.keys()] : [];
}

/** Calls `method` of `target` if it exists, as a promise; a missing one resolves. */
export function callIfThere(target: unknown, method: string, ...args: unknown[]): Promise<unknown> {
  const fn = (target as Record<string, unknown> | undefined)?.[method];
  return typeof fn === 'function' ? Promise.resolve(fn.apply(target, args)) : Promise.resolve();
}
