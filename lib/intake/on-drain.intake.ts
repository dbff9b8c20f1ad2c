/** `@OnDrain()` methods: the application's own intake, stopped at the drain beside the module's. */
import { providerFacts } from '../adapter/nest.adapter.js';
import type { DecoratedProvider } from '../discovery/decorated-provider.scanner.js';
import { ON_DRAIN_METADATA, ON_DRAIN_METHODS } from '../graceful.constants.js';
import type { OnDrainOptions } from '../interfaces/on-drain-options.interface.js';
import { abortableDelay } from '../shutdown/abortable-delay.js';
import { HookTimeoutError } from '../errors/hook-timeout.error.js';
import { MESSAGES } from '../graceful.messages.js';
import type { ShutdownContext } from '../interfaces/shutdown-context.interface.js';
import type { IntakeSource } from './intake.source.js';
import type { IntakeContext, IntakeIntegration } from './intake.context.js';

class OnDrainMethod implements IntakeSource {
  readonly kind = 'on-drain' as const;
  readonly unit = 'call';
  readonly name: string;
  private done = 0;
  private inProgress = 0;

  constructor(
    private readonly call: (context: ShutdownContext) => unknown,
    name: string,
    private readonly timeoutMs: number,
    private readonly reason: () => string,
    private readonly deadline: () => number,
  ) {
    this.name = `${name} (@OnDrain)`;
  }

  async drain(signal: AbortSignal): Promise<void> {
    const own = new AbortController();
    const stop = () => own.abort(signal.reason);
    signal.addEventListener('abort', stop, { once: true });
    const timer = setTimeout(() => own.abort(new HookTimeoutError(MESSAGES.hookTimeoutReason(this.name, this.timeoutMs))), this.timeoutMs);
    this.inProgress = 1;
    try {
      const called = Promise.resolve().then(() => this.call({ signal: own.signal, reason: this.reason(), deadline: this.deadline() }));
      const settled = called.then(() => 'done' as const);
      const result = await Promise.race([settled, abortableDelay(this.timeoutMs, signal).then(() => 'late' as const)]);
      if (result === 'done') {
        this.inProgress = 0;
        this.done = 1;
      } else {
        called.then(
          () => (this.inProgress = 0),
          () => (this.inProgress = 0),
        );
      }
    } catch (error) {
      this.inProgress = 0;
      throw error;
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', stop);
    }
  }

  finished(): number {
    return this.done;
  }

  running(): number {
    return this.inProgress;
  }
}

export class OnDrainIntegration implements IntakeIntegration {
  /**
   * `decorated`: the providers and controllers with `@OnDrain()` methods, as
   * the module's one startup scan found them (rescanned only when a module
   * was loaded since), so that the drain does not look at every instance.
   */
  constructor(
    private readonly reason: () => string,
    private readonly deadline: () => number,
    private readonly decorated: () => DecoratedProvider[],
  ) {}

  sources(context: IntakeContext): IntakeSource[] {
    const sources: IntakeSource[] = [];
    for (const { wrapper, lists } of this.decorated()) {
      const instance = wrapper.instance as unknown;
      if (!instance || typeof instance !== 'object' || wrapper.isAlias) continue;
      const name = (instance as object).constructor?.name ?? String(wrapper.name);
      for (const method of lists[ON_DRAIN_METHODS] ?? []) {
        const fn = (instance as Record<string, unknown>)[method];
        const options = typeof fn === 'function' ? (Reflect.getMetadata(ON_DRAIN_METADATA, fn) as OnDrainOptions | undefined) : undefined;
        if (!options) continue;
        if (!providerFacts(wrapper).isSingleton) {
          context.logger.warn(MESSAGES.onDrainNonStatic(`${name}.${method}`));
          continue;
        }
        const timeoutMs = Math.min(options.timeout ?? context.options.drainTimeoutMs, context.options.drainTimeoutMs);
        const target = instance as Record<string, (context: ShutdownContext) => unknown>;
        sources.push(new OnDrainMethod((ctx) => target[method](ctx), `${name}.${method}`, timeoutMs, this.reason, this.deadline));
      }
    }
    return sources;
  }
}
