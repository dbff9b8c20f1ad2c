import { OnDrain } from '../../lib/decorators/on-drain.decorator.js';
import { drainIntake } from '../../lib/drain/traffic.drain.js';
import { WorkTracker } from '../../lib/drain/work.tracker.js';
import { InFlight, type IntakeSource } from '../../lib/intake/intake.source.js';
import { exitCodeOf } from '../../lib/report/shutdown-report.builder.js';
import type { IntakeReport } from '../../lib/interfaces/index.js';

const silent = { log: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };

/** A source whose work ends when the test says so, or never. */
function source(name: string, behave: 'idle' | 'busy' | 'hang' | 'throw'): IntakeSource & { release(): void } {
  const inFlight = new InFlight();
  let release = () => undefined as void;
  if (behave === 'busy' || behave === 'hang') {
    void inFlight.around(() => new Promise<void>((resolve) => (release = resolve)));
  }
  return {
    name,
    kind: 'queue',
    unit: 'job',
    drain: async (signal) => {
      inFlight.startCounting();
      if (behave === 'throw') throw new Error(`${name} broke`);
      if (behave === 'busy') release();
      await inFlight.settled(signal);
    },
    finished: () => inFlight.finished,
    running: () => inFlight.size,
    release: () => release(),
  };
}

describe('the drain stage', () => {
  it('drains every source at once and reports each: finished, timed out with what still runs, failed', async () => {
    const ended: IntakeReport[] = [];
    const abort = new AbortController();
    const sources = [source('idle', 'idle'), source('busy', 'busy'), source('hang', 'hang'), source('throw', 'throw')];
    const { intake, drain } = await drainIntake(undefined, new WorkTracker(), sources, 50, abort.signal, silent, (row) => ended.push(row));
    const by = Object.fromEntries(intake.map((row) => [row.name, row]));
    expect(by.idle).toMatchObject({ outcome: 'ok', finished: 0, stillRunning: 0 });
    expect(by.busy).toMatchObject({ outcome: 'ok', finished: 1, stillRunning: 0 });
    expect(by.hang).toMatchObject({ outcome: 'timeout', finished: 0, stillRunning: 1 });
    expect(by.throw).toMatchObject({ outcome: 'error', error: 'throw broke' });
    expect(ended).toEqual(intake);
    expect(drain.requestsCut).toBe(0);
    // A source not stopped in time, or one that failed, makes the exit code 1.
    expect(exitCodeOf({ deadlineExceeded: false, sequenceFailed: false, exitCalls: [], hooks: [], intake: [by.idle, by.busy] })).toBe(0);
    expect(exitCodeOf({ deadlineExceeded: false, sequenceFailed: false, exitCalls: [], hooks: [], intake: [by.hang] })).toBe(1);
    expect(exitCodeOf({ deadlineExceeded: false, sequenceFailed: false, exitCalls: [], hooks: [], intake: [by.throw] })).toBe(1);
    sources[2].release();
  });

  it('the deadline ends the drain at once', async () => {
    const abort = new AbortController();
    abort.abort(new Error('deadline'));
    const { intake } = await drainIntake(undefined, new WorkTracker(), [source('hang', 'hang')], 60_000, abort.signal, silent, () => undefined);
    expect(intake).toMatchObject([{ name: 'hang', outcome: 'timeout', stillRunning: 1 }]);
  });

  it('tracked work is a row of its own; its signal aborts when the drain ends with it still running', async () => {
    const work = new WorkTracker();
    let seen: AbortSignal | undefined;
    void work.track(new Promise<void>(() => undefined));
    void work.track((signal) => {
      seen = signal;
      return new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
    });
    await Promise.resolve();
    const { intake, drain } = await drainIntake(undefined, work, [], 30, new AbortController().signal, silent, () => undefined);
    expect(intake).toMatchObject([{ name: 'track()', kind: 'tracked', outcome: 'timeout', stillRunning: 2 }]);
    expect(drain.trackedWorkCut).toBe(2);
    expect(seen?.aborted).toBe(true);
  });

  it('no row for track() when nothing was ever tracked', async () => {
    const { intake } = await drainIntake(undefined, new WorkTracker(), [], 30, new AbortController().signal, silent, () => undefined);
    expect(intake).toEqual([]);
  });
});

describe('@OnDrain() misuse fails when the class is defined, naming Class.method', () => {
  it('on a static method, with an unknown option, or with a timeout that is not a positive number', () => {
    expect(() => {
      class Consumer {
        @OnDrain()
        static stop() {}
      }
      return Consumer;
    }).toThrow('@OnDrain() on Consumer.stop: static methods are never called');
    expect(() => {
      class Consumer {
        @OnDrain({ order: 1 } as never)
        stop() {}
      }
      return Consumer;
    }).toThrow('@OnDrain() on Consumer.stop: option "order" is 1; it must be left out');
    expect(() => {
      class Consumer {
        @OnDrain({ timeout: -5 })
        stop() {}
      }
      return Consumer;
    }).toThrow('@OnDrain() on Consumer.stop: option "timeout" is -5');
  });
});
