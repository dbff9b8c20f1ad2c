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
