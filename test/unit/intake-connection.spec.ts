import { EventEmitter } from 'node:events';
import { BullIntegration } from '../../lib/intake/bull.intake.js';
import { BullMqIntegration } from '../../lib/intake/bullmq.intake.js';
import type { IntakeContext } from '../../lib/intake/intake.context.js';
import { holdUntilConnected, type ConnectionOutcome } from '../../lib/intake/intake-connection.watch.js';
import type { IntakeSource } from '../../lib/intake/intake.source.js';
import { MicroserviceIntegration } from '../../lib/intake/microservice.intake.js';
import { LifecycleRecord } from '../../lib/lifecycle/lifecycle.record.js';
import { StartupTracker } from '../../lib/startup/startup.tracker.js';

/** A source whose connection the test settles. */
function source(name: string, connected?: IntakeSource['connected']): IntakeSource {
  return { name, kind: 'queue', unit: 'job', drain: () => Promise.resolve(), finished: () => 0, running: () => 0, ...(connected ? { connected } : {}) };
}

function deferred(): { promise: Promise<void>; resolve(): void; reject(error: Error): void } {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

/** The holds taken, and how each ended (undefined while it holds). */
function holds(): { hold: (name: string) => (outcome: ConnectionOutcome, error?: unknown) => void; ended: Map<string, ConnectionOutcome | undefined> } {
  const ended = new Map<string, ConnectionOutcome | undefined>();
  return {
    ended,
    hold: (name) => {
      ended.set(name, undefined);
      return (outcome) => {
        if (ended.get(name) !== undefined) throw new Error(`${name} ended twice`);
        ended.set(name, outcome);
      };
    },
  };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('holdUntilConnected', () => {
  it('holds for each source that is not connected yet, named "<source> connecting", until it is; the others hold nothing', async () => {
    const worker = deferred();
    const { hold, ended } = holds();
    const done = holdUntilConnected(
      [source('no contract'), source('connected already', () => undefined), source('BullMQ worker "emails"', () => worker.promise)],
      hold,
      new AbortController().signal,
    );
    await turn();
    expect([...ended]).toEqual([['BullMQ worker "emails" connecting', undefined]]);
    worker.resolve();
    expect(await done).toEqual(['BullMQ worker "emails" connecting']);
    expect(ended.get('BullMQ worker "emails" connecting')).toBe('ok');
  });

  it('ends the hold with error when the source cannot say (throws or rejects): readiness does not wait forever on it', async () => {
    const { hold, ended } = holds();
    await holdUntilConnected(
      [
        source('throws', () => {
          throw new Error('no status');
        }),
        source('rejects', () => Promise.reject(new Error('closed'))),
      ],
      hold,
      new AbortController().signal,
    );
    expect(Object.fromEntries(ended)).toEqual({ 'throws connecting': 'error', 'rejects connecting': 'error' });
  });

  it('once the shutdown began (abort), ends at once and ends no hold; the source gets the signal to let go', async () => {
    const controller = new AbortController();
    const { hold, ended } = holds();
    let given: AbortSignal | undefined;
    const done = holdUntilConnected(
      [
        source('never', (signal) => {
          given = signal;
          return new Promise<void>(() => undefined);
        }),
      ],
      hold,
      controller.signal,
    );
    controller.abort();
    await done;
    expect(given).toBe(controller.signal);
    expect(ended.get('never connecting')).toBeUndefined();
    expect(await holdUntilConnected([source('late', () => Promise.resolve())], hold, controller.signal)).toEqual([]);
  });

  it('with the lifecycle record: the state stays starting while a source connects, and the startup ends once it has', async () => {
    const record = new LifecycleRecord();
    const connection = deferred();
    const done = holdUntilConnected(
      [source('RabbitMQ microservice', () => connection.promise)],
      (name) => {
        const release = record.hold(name);
        return () => release();
      },
      new AbortController().signal,
    );
    record.serve();
    expect(record.state).toBe('starting');
    expect(record.holding).toEqual(['RabbitMQ microservice connecting']);
    expect(record.started).toBe(false);
    connection.resolve();
    await done;
    expect(record.state).toBe('ready');
    expect(record.started).toBe(true);
  });
});

describe('a microservice server is connected once its listen() has called back without an error', () => {
  /** A server as Nest's transports are: `listen(callback)` calls back once it takes messages. */
  function server() {
    let callback: ((error?: unknown) => void) | undefined;
    const heard: unknown[] = [];
    const instance = {
      transportId: 5,
      messageHandlers: new Map(),
      close: () => Promise.resolve(),
      listen(cb: (error?: unknown) => void) {
        callback = cb;
      },
    };
    return {
      instance,
      start: () => instance.listen((error?: unknown) => heard.push(error ?? 'ok')),
      callBack: (error?: unknown) => callback?.(error),
      heard,
    };
  }

  it('holds until then (Nest still gets its callback), not after; an error keeps it unconnected', async () => {
    const s = server();
    const integration = new MicroserviceIntegration();
    integration.addServer(s.instance);
    const [intake] = integration.sources();
    expect(intake.name).toBe('RabbitMQ microservice');
    let connected = false;
    void intake.connected!(new AbortController().signal)!.then(() => (connected = true));
    s.start();
    s.callBack(new Error('ECONNREFUSED'));
    await turn();
    expect(connected).toBe(false);
    s.callBack();
    await turn();
    expect(connected).toBe(true);
    expect(s.heard).toEqual([new Error('ECONNREFUSED'), 'ok']);
    expect(intake.connected!(new AbortController().signal)).toBeUndefined();
  });

  it('a server never started holds until the wait is aborted, and lets go of its waiter', async () => {
    const s = server();
    const integration = new MicroserviceIntegration();
    integration.addServer(s.instance);
    const [intake] = integration.sources();
    const controller = new AbortController();
    const waiting = intake.connected!(controller.signal)!;
    controller.abort();
    await expect(waiting).resolves.toBeUndefined();
  });
});

describe('StartupTracker.running() with what holds readiness', () => {
  it('names the holds as running steps (a source connecting, a warm-up), longest first, before the container steps', () => {
    const tracker = new StartupTracker();
    tracker.begin('listen()', true, 1000);
    expect(tracker.running(5000, [{ name: 'BullMQ worker "emails" (EmailProcessor) connecting', start: 2000 }])).toEqual([
      'BullMQ worker "emails" (EmailProcessor) connecting, running 3.0 s',
    ]);
    expect(tracker.running(5000)).toEqual(['listen(), running 4.0 s']);
  });
});

/** Just what the integrations read of the application: the providers of `BullModule`. */
function bullContext(instance: object): IntakeContext {
  return { moduleInstances: (name: string) => (name === 'BullModule' ? [{ name: 'held', instance }] : []) } as unknown as IntakeContext;
}

/** An ioredis client as far as Bull's queue shows it: a status, and `ready`/`end` events. */
function redisClient(status: string): EventEmitter & { status: string } {
  return Object.assign(new EventEmitter(), { status });
}

function withGetters<T extends object, U extends object>(target: T, source: U): T & U {
  return Object.defineProperties(target, Object.getOwnPropertyDescriptors(source)) as T & U;
}

describe('a Bull queue is connected once its command and blocking connections are ready', () => {
  function queue(processors: boolean) {
    const client = redisClient('connecting');
    const bclient = redisClient('connecting');
    let bclientInitialized = false;
    // Getters kept as getters (Object.assign would read them once).
    const instance = withGetters(new EventEmitter(), {
      name: 'legacy',
      handlers: processors ? { __default__: () => undefined } : {},
      pause: () => Promise.resolve(),
      processJob: () => Promise.resolve(),
      processJobs: () => undefined,
      whenCurrentJobsFinished: () => Promise.resolve(),
      client,
      get bclientInitialized() {
        return bclientInitialized;
      },
      // Bull's getter creates the blocking connection on first use.
      get bclient() {
        bclientInitialized = true;
        return bclient;
      },
    });
    return { instance, client, bclient };
  }

  it('holds while either connection is not ready (the blocking one created if Bull has not yet), not once both are', async () => {
    const q = queue(true);
    const [intake] = new BullIntegration().sources(bullContext(q.instance));
    let connected = false;
    void intake.connected!(new AbortController().signal)!.then(() => (connected = true));
    q.client.status = 'ready';
    q.client.emit('ready');
    await turn();
    expect(connected).toBe(false);
    expect(q.instance.bclientInitialized).toBe(true);
    q.bclient.status = 'ready';
    q.bclient.emit('ready');
    await turn();
    expect(connected).toBe(true);
    expect(intake.connected!(new AbortController().signal)).toBeUndefined();
    expect(q.client.listenerCount('ready') + q.bclient.listenerCount('end')).toBe(0);
  });

  it('rejects (the source cannot say) when a connection ends before it is ready', async () => {
    const q = queue(true);
    const [intake] = new BullIntegration().sources(bullContext(q.instance));
    const waiting = intake.connected!(new AbortController().signal)!;
    q.client.status = 'end';
    q.client.emit('end');
    await expect(waiting).rejects.toThrow('the connection of Bull queue "legacy" ended before it was ready');
    expect(q.instance.bclientInitialized).toBe(false);
  });

  it('rejects when the blocking connection ends before it is ready', async () => {
    const q = queue(true);
    const [intake] = new BullIntegration().sources(bullContext(q.instance));
    const waiting = intake.connected!(new AbortController().signal)!;
    q.client.status = 'ready';
    q.client.emit('ready');
    await turn();
    q.bclient.status = 'end';
    q.bclient.emit('end');
    await expect(waiting).rejects.toThrow('ended before it was ready');
  });

  it('a queue without processors is no source', () => {
    expect(new BullIntegration().sources(bullContext(queue(false).instance))).toEqual([]);
  });
});

describe('a BullMQ worker', () => {
  function worker() {
    const ready = deferred();
    const closed: boolean[] = [];
    const instance = Object.assign(new EventEmitter(), {
      name: 'emails',
      isRunning: () => true,
      waitUntilReady: () => ready.promise,
      close: (force?: boolean) => {
        closed.push(Boolean(force));
        return Promise.resolve();
      },
    });
    const explorer = { workers: [instance], handleProcessor: () => undefined };
    return { ready, closed, intake: () => new BullMqIntegration().sources(bullContext(explorer))[0] };
  }

  it('is connected once waitUntilReady() resolves; its drain then closes it gracefully', async () => {
    const w = worker();
    const intake = w.intake();
    const waiting = intake.connected!(new AbortController().signal);
    expect(waiting).toBeInstanceOf(Promise);
    w.ready.resolve();
    await waiting;
    expect(intake.connected!(new AbortController().signal)).toBeUndefined();
    await intake.drain(new AbortController().signal);
    expect(w.closed).toEqual([false]);
  });

  it('never connected, it has taken no job: its drain closes it at once (a graceful close would wait for Redis)', async () => {
    const w = worker();
    await w.intake().drain(new AbortController().signal);
    expect(w.closed).toEqual([true]);
  });
});
