import { GracefulExitCode } from '../graceful.constants.js';
import type { GracefulLogger } from '../graceful.logger.js';
import { MESSAGES } from '../graceful.messages.js';
import type { LifecycleRecord } from '../lifecycle/lifecycle.record.js';
import type { ResolvedGracefulOptions } from '../options/graceful-options.resolver.js';
import { messageOf, stackOf } from '../report/shutdown-report.builder.js';
import type { ProcessSignals } from './process-signals.js';

/** What the process side needs of the one sequence. */
export interface ProcessHost {
  /** What started the run under way; undefined before any. */
  readonly runReason: string | undefined;
  /** Starts the run (the one sequence). */
  begin(reason: string, how: { delay: boolean; exit: boolean }): void;
  /** The run under way is to end the process when done. */
  exitWhenDone(): void;
  /** When the startup is still running, the line that says a signal stops it; else undefined. */
  startupInterruption(signal: string): string | undefined;
}

/**
 * The process side of the lifecycle: what each signal, fatal error and PM2
 * message does to the one sequence. A signal starts the run (during the
 * startup it stops the startup), joins the run under way (which then ends
 * the process), or, as a second SIGINT, exits 130 at once. A fatal error
 * starts the run, a second one exits 1 at once.
 */
export class ProcessEvents {
  /** SIGINTs received so far: only a second one (Ctrl+C twice) cuts the shutdown short. */
  private interrupts = 0;

  constructor(
    private readonly options: ResolvedGracefulOptions,
    private readonly process: ProcessSignals,
    private readonly record: LifecycleRecord,
    private readonly logger: GracefulLogger,
    private readonly host: ProcessHost,
  ) {}

  listenTo(signals: string[]): void {
    for (const signal of signals.map((s) => s.toUpperCase().trim())) this.process.on(signal, () => this.onSignal(signal));
  }

  /** Fatal errors (when `handleFatalErrors`) and PM2's messages: from the application's attach on. */
  attach(): void {
    if (this.options.handleFatalErrors) {
      this.process.on('uncaughtException', (error) => this.onFatal('uncaughtException', error));
      this.process.on('unhandledRejection', (reason) => this.onFatal('unhandledRejection', reason));
    }
    if (this.options.platform.name === 'pm2') this.followPm2();
  }

  onSignal(signal: string): void {
    const reason = this.host.runReason;
    // Counted whatever started the run: a first SIGINT during an `app.close()` joins it.
    const secondInterrupt = signal === 'SIGINT' && ++this.interrupts > 1;
    const interruption = reason === undefined ? this.host.startupInterruption(signal) : undefined;
    if (interruption !== undefined) {
      this.logger.error(interruption);
      this.host.begin(signal, { delay: false, exit: true });
    } else if (reason === undefined) {
      this.host.begin(signal, { delay: signal === 'SIGTERM', exit: true });
    } else if (secondInterrupt) {
      this.logger.warn(MESSAGES.interrupted());
      this.process.exit(GracefulExitCode.Interrupted);
    } else {
      this.logger.warn(signal === 'SIGINT' ? MESSAGES.firstInterrupt(reason) : MESSAGES.repeatedSignal(signal, reason));
      this.host.exitWhenDone();
    }
  }

  onFatal(kind: string, error: unknown): void {
    const first = this.record.fatalError === undefined;
    this.record.fatalError ??= error;
    const reason = this.host.runReason;
    if (reason === undefined) {
      this.logger.error(MESSAGES.fatalError(kind, messageOf(error)), stackOf(error));
      this.host.begin('error', { delay: true, exit: true });
    } else if (reason === 'error' || !first) {
      this.logger.error(MESSAGES.fatalError(kind, messageOf(error)), stackOf(error));
      this.logger.error(MESSAGES.secondFatalError());
      this.process.exit(GracefulExitCode.Failed);
    } else {
      this.logger.error(MESSAGES.fatalErrorDuringShutdown(kind, messageOf(error)), stackOf(error));
      this.host.exitWhenDone();
    }
  }

  /**
   * PM2 stops an app with a 'shutdown' message when `shutdown_with_message`
   * is set: the same shutdown as SIGTERM. With `wait_ready` it waits for
   * `process.send('ready')`: sent once the application is ready.
   */
  private followPm2(): void {
    this.process.on('message', (message) => {
      if (message !== 'shutdown') return;
      if (this.host.runReason !== undefined) this.host.exitWhenDone();
      else this.host.begin('shutdown', { delay: true, exit: true });
    });
    if (!this.options.platform.waitsForReady) return;
    const ready = () => {
      // Once started (warm-ups and held work ended), even if marked unready meanwhile.
      if (!this.record.started) return false;
      this.process.send('ready');
      return true;
    };
    if (ready()) return;
    const off = this.record.onState(() => {
      if (ready()) off();
    });
  }
}
