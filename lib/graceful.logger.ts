import { Logger, type LoggerService } from '@nestjs/common';

/** The module's logging, with `context` as the Nest logger context, or silence with `logger: false`. */
export interface GracefulLogger {
  log(message: string): void;
  warn(message: string): void;
  error(message: string, stack?: string): void;
  debug(message: string): void;
}

export function createGracefulLogger(option: LoggerService | false | undefined, context: string): GracefulLogger {
  if (option === false) return { log() {}, warn() {}, error() {}, debug() {} };
  const target: LoggerService = option ?? new Logger(context);
  const ctx = option ? [context] : [];
  return {
    log: (message) => target.log(message, ...ctx),
    warn: (message) => target.warn(message, ...ctx),
    error: (message, stack) => (stack === undefined ? target.error(message, ...ctx) : target.error(message, stack, ...ctx)),
    debug: (message) => target.debug?.(message, ...ctx),
  };
}

/**
 * The level at which a startup description (the plan, the intake) is shown,
 * or undefined when it would not be: `logPlan: true` logs it, `false` or
 * `logger: false` never, and by default it goes to debug, which Nest's own
 * logger may have turned off. Callers build the text only when it shows.
 */
export function descriptionLevel(option: LoggerService | false | undefined, logPlan: boolean | undefined): 'log' | 'debug' | undefined {
  if (option === false || logPlan === false) return undefined;
  if (logPlan === true) return 'log';
  // A logger of the app's own decides for itself; Nest's checks its levels.
  return option !== undefined || nestShowsDebug() ? 'debug' : undefined;
}

/**
 * Whether Nest's logger shows debug lines, answered the same on Nest 11 and
 * 12. With no levels configured both print debug (the default levels include
 * it), but Nest 11's `Logger.isLevelEnabled()` then answers false for every
 * level; no level enabled at all means none was configured, so the logger
 * in place (the default, the app's own, or none with `logger: false`)
 * decides when the line is written.
 */
function nestShowsDebug(): boolean {
  return Logger.isLevelEnabled('debug') || !Logger.isLevelEnabled('fatal');
}
