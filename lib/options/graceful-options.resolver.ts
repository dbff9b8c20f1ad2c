import { constants } from 'node:os';
import type { LoggerService } from '@nestjs/common';
import {
  DEFAULT_DRAIN_TIMEOUT_MS,
  DEFAULT_FINAL_TIMEOUT_MS,
  DEFAULT_HOOK_TIMEOUT_MS,
  DEFAULT_KUBERNETES_READINESS_DELAY_MS,
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  DEFAULT_SIGNALS,
  MAX_TIMER_MS,
} from '../graceful.constants.js';
import { MESSAGES } from '../graceful.messages.js';
import { InvalidGracefulOptionsError } from '../errors/invalid-graceful-options.error.js';
import type { GracefulModuleOptions, IntakeOptions } from '../interfaces/graceful-module-options.interface.js';

/** The options with every default applied, once, at startup. */
export interface ResolvedGracefulOptions {
  hookTimeoutMs: number;
  shutdownTimeoutMs: number;
  signals: string[];
  strict: boolean;
  readinessDelayMs: number;
  drainTimeoutMs: number;
  gracePeriodMs?: number;
  logger?: LoggerService | false;
  logPlan?: boolean;
  reportFile?: string;
  handleFatalErrors: boolean;
  finalTimeoutMs: number;
  intake: Required<IntakeOptions>;
}

const KNOWN_OPTIONS = new Set<string>([
  'hookTimeoutMs',
  'shutdownTimeoutMs',
  'signals',
  'strict',
  'readinessDelayMs',
  'drainTimeoutMs',
  'gracePeriodMs',
  'logger',
  'logPlan',
  'reportFile',
  'handleFatalErrors',
  'finalTimeoutMs',
  'intake',
]);

const INTAKE_SOURCES = ['sse', 'websockets', 'microservices', 'bullmq', 'schedule'] as const;

/** Validates the user's options and applies the defaults; throws naming the option and the value. */
export function resolveGracefulOptions(options: GracefulModuleOptions | undefined = {}, env: NodeJS.ProcessEnv = process.env): ResolvedGracefulOptions {
  if (options === null || typeof options !== 'object') {
    throw new InvalidGracefulOptionsError(MESSAGES.invalidOption('options', options, 'an object'));
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) {
      throw new InvalidGracefulOptionsError(
        MESSAGES.invalidOption(
          key,
          (options as Record<string, unknown>)[key],
          `one of the known options (${[...KNOWN_OPTIONS].join(', ')}), not an unknown one`,
        ),
      );
    }
  }
  const inKubernetes = Boolean(env.KUBERNETES_SERVICE_HOST);
  const resolved: ResolvedGracefulOptions = {
    hookTimeoutMs: duration('hookTimeoutMs', options.hookTimeoutMs, DEFAULT_HOOK_TIMEOUT_MS, { positive: true }),
    shutdownTimeoutMs: duration('shutdownTimeoutMs', options.shutdownTimeoutMs, DEFAULT_SHUTDOWN_TIMEOUT_MS, { positive: true }),
    signals: signals(options.signals),
    strict: flag('strict', options.strict),
    readinessDelayMs: duration('readinessDelayMs', options.readinessDelayMs, inKubernetes ? DEFAULT_KUBERNETES_READINESS_DELAY_MS : 0),
    drainTimeoutMs: duration('drainTimeoutMs', options.drainTimeoutMs, DEFAULT_DRAIN_TIMEOUT_MS),
    gracePeriodMs: options.gracePeriodMs === undefined ? undefined : duration('gracePeriodMs', options.gracePeriodMs, 0, { positive: true }),
    logger: logger(options.logger),
    logPlan: options.logPlan === undefined ? undefined : flag('logPlan', options.logPlan),
    reportFile: reportFile(options.reportFile),
    handleFatalErrors: options.handleFatalErrors === undefined ? true : flag('handleFatalErrors', options.handleFatalErrors),
    finalTimeoutMs: duration('finalTimeoutMs', options.finalTimeoutMs, DEFAULT_FINAL_TIMEOUT_MS, { positive: true }),
    intake: intake(options.intake),
  };
  return resolved;
}

/** A duration in milliseconds: a finite number, not negative (or positive), that a timer can hold. */
export function duration(option: string, value: unknown, fallback: number, { positive = false } = {}): number {
  if (value === undefined) return fallback;
  const valid = typeof value === 'number' && Number.isFinite(value) && (positive ? value > 0 : value >= 0) && value <= MAX_TIMER_MS;
  if (!valid) {
    throw new InvalidGracefulOptionsError(
      MESSAGES.invalidOption(option, value, `a finite number of milliseconds ${positive ? 'above 0' : 'of 0 or more'}, at most ${MAX_TIMER_MS}`),
    );
  }
  return value;
}

function flag(option: string, value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new InvalidGracefulOptionsError(MESSAGES.invalidOption(option, value, 'true or false'));
  return value;
}

function signals(value: unknown): string[] {
  if (value === undefined) return [...DEFAULT_SIGNALS];
  if (!Array.isArray(value)) {
    throw new InvalidGracefulOptionsError(MESSAGES.invalidOption('signals', value, "an array of signal names such as ['SIGTERM', 'SIGINT']"));
  }
  const names = value.map((signal: unknown) => {
    const name = typeof signal === 'string' ? signal.trim().toUpperCase() : '';
    if (!(name in constants.signals) || name === 'SIGKILL' || name === 'SIGSTOP') {
      throw new InvalidGracefulOptionsError(MESSAGES.unknownSignal(String(signal)));
    }
    return name;
  });
  return [...new Set(names)];
}

function intake(value: unknown): Required<IntakeOptions> {
  const resolved = Object.fromEntries(INTAKE_SOURCES.map((source) => [source, true])) as Required<IntakeOptions>;
  if (value === undefined) return resolved;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidGracefulOptionsError(
      MESSAGES.invalidOption('intake', value, `an object such as { bullmq: false } naming any of ${INTAKE_SOURCES.join(', ')}`),
    );
  }
  for (const [key, on] of Object.entries(value)) {
    if (!(INTAKE_SOURCES as readonly string[]).includes(key)) {
      throw new InvalidGracefulOptionsError(MESSAGES.invalidOption(`intake.${key}`, on, `left out: the sources are ${INTAKE_SOURCES.join(', ')}`));
    }
    if (typeof on !== 'boolean') throw new InvalidGracefulOptionsError(MESSAGES.invalidOption(`intake.${key}`, on, 'true or false'));
    resolved[key as keyof IntakeOptions] = on;
  }
  return resolved;
}

function reportFile(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '') {
    throw new InvalidGracefulOptionsError(MESSAGES.invalidOption('reportFile', value, 'a file path'));
  }
  return value;
}

function logger(value: unknown): LoggerService | false | undefined {
  if (value === undefined || value === false) return value;
  const candidate = value as Partial<LoggerService> | null;
  if (
    candidate === null ||
    typeof candidate !== 'object' ||
    typeof candidate.log !== 'function' ||
    typeof candidate.error !== 'function' ||
    typeof candidate.warn !== 'function'
  ) {
    throw new InvalidGracefulOptionsError(MESSAGES.invalidOption('logger', value, 'a Nest LoggerService (with log, warn and error) or false'));
  }
  return candidate as LoggerService;
}

/**
 * What makes the time budget unworkable: the delay and the drain leaving the
 * hooks less than a fifth of the deadline, or a deadline that does not fit in
 * the pod's grace period with a second to spare.
 */
export function budgetProblems(options: ResolvedGracefulOptions): string[] {
  const problems: string[] = [];
  const { readinessDelayMs, drainTimeoutMs, shutdownTimeoutMs, gracePeriodMs } = options;
  if (shutdownTimeoutMs - readinessDelayMs - drainTimeoutMs < shutdownTimeoutMs / 5) {
    problems.push(MESSAGES.budgetHooksSqueezed(readinessDelayMs, drainTimeoutMs, shutdownTimeoutMs));
  }
  if (gracePeriodMs !== undefined && shutdownTimeoutMs + 1000 > gracePeriodMs) {
    problems.push(MESSAGES.budgetOverGracePeriod(shutdownTimeoutMs, gracePeriodMs));
  }
  return problems;
}
