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
