/**
 * What the startup is doing, step by step: each provider's `onModuleInit` and
 * `onApplicationBootstrap`, `listen()`, each warm-up. Names what still runs
 * when the startup overruns its timeout or a signal stops it, and gives the
 * startup timeline. Pure: it knows nothing of Nest (the adapter times the hooks).
 */
export interface StartupStep {
  /** `Class.onModuleInit`, `listen()`, `Class.method (warm-up)`. */
  name: string;
  start: number;
  end?: number;
  outcome?: 'ok' | 'error' | 'timeout';
  /** A step made of others (`init()`, `listen()`): named as running only when none of its parts is. */
  container?: boolean;
}

export class StartupTracker {
  private readonly steps: StartupStep[] = [];
  /** When the module was constructed: inside `NestFactory.create()`. */
  readonly createdAt = Date.now();
  /** Set once `NestFactory.create()` returned the application. */
  createdEndAt?: number;

  /** A step begins; the returned function ends it (once). */
  begin(name: string, container = false, at = Date.now()): (outcome?: StartupStep['outcome'], end?: number) => void {
    const step: StartupStep = { name, start: at, ...(container ? { container } : {}) };
    this.steps.push(step);
    return (outcome = 'ok', end = Date.now()) => {
      if (step.end !== undefined) return;
      step.end = end;
      step.outcome = outcome;
    };
  }

  /** A step that ended, known only at its end (a warm-up, from its event). */
  ended(name: string, start: number, end: number, outcome: StartupStep['outcome']): void {
    this.steps.push({ name, start, end, outcome });
  }

  /**
   * The steps still running, longest first, as `Class.onModuleInit, running
   * 12.0 s`; with `holds` (what holds readiness: warm-ups, sources
   * connecting), known only at their end otherwise.
   */
  running(now = Date.now(), holds: ReadonlyArray<{ name: string; start: number }> = []): string[] {
    const open: StartupStep[] = [...this.steps.filter((step) => step.end === undefined), ...holds];
    const leaves = open.filter((step) => !step.container);
    return (leaves.length > 0 ? leaves : open)
      .sort((a, b) => a.start - b.start)
      .map((step) => `${step.name}, running ${((now - step.start) / 1000).toFixed(1)} s`);
  }

  /** Every step so far, in the order they began. */
  all(): StartupStep[] {
    return [...this.steps].sort((a, b) => a.start - b.start);
  }
}
