import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import type { LoggerService } from '@nestjs/common';
import {
  DEFAULT_DRAIN_TIMEOUT_MS,
  DEFAULT_FINAL_TIMEOUT_MS,
  DEFAULT_HOOK_TIMEOUT_MS,
  DEFAULT_KUBERNETES_MIN_DELAY_MS,
  DEFAULT_READINESS_DELAY_MS,
  DEFAULT_READINESS_QUIET_MS,
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  DEFAULT_SIGNALS,
  MAX_TIMER_MS,
} from '../graceful.constants.js';
import { MESSAGES } from '../graceful.messages.js';
import { InvalidGracefulOptionsError } from '../errors/invalid-graceful-options.error.js';
import type { GracefulModuleOptions, IntakeOptions } from '../interfaces/graceful-module-options.interface.js';
import { PLATFORM_NAMES, detectPlatform, forcedPlatform, type PlatformEnvironment, type PlatformName, type PlatformProfile } from './platform.profiles.js';

/** The options with every default applied, once, at startup. */
export interface ResolvedGracefulOptions {
  hookTimeoutMs: number;
  shutdownTimeoutMs: number;
  signals: string[];
  strict: boolean;
  traceHandles: boolean;
  /** The longest readiness delay. */
  readinessDelayMs: number;
  /** The delay runs only if the readiness indicator answered before the signal (nobody to tell otherwise). */
  readinessDelayIfProbed: boolean;
  readinessMinDelayMs: number;
  readinessQuietMs: number;
  drainTimeoutMs: number;
  /** The platform's grace period, or the user's; undefined when neither is known. */
  gracePeriodMs?: number;
  preStopMs: number;
  platform: PlatformProfile;
  /** Where each default came from, for the startup plan: option name -> "Cloud Run". */
  defaultsFrom: Partial<Record<'shutdownTimeoutMs' | 'drainTimeoutMs' | 'readinessDelayMs' | 'readinessMinDelayMs' | 'gracePeriodMs', string>>;
  logger?: LoggerService | false;
  logPlan?: boolean;
  reportFile?: string;
  handleFatalErrors: boolean;
  finalTimeoutMs: number;
  /** Unset: the startup is unbounded. */
  startupTimeoutMs?: number;
  readinessWaitsForIntake: boolean;
  intake: Required<IntakeOptions>;
}

const KNOWN_OPTIONS = new Set<string>([
  'hookTimeoutMs',
  'shutdownTimeoutMs',
  'signals',
  'strict',
  'traceHandles',
  'readinessDelayMs',
  'drainTimeoutMs',
  'gracePeriodMs',
  'logger',
  'logPlan',
  'reportFile',
  'handleFatalErrors',
  'finalTimeoutMs',
  'startupTimeoutMs',
  'readinessWaitsForIntake',
  'intake',
  'readinessMinDelayMs',
  'readinessQuietMs',
  'platform',
  'preStopMs',
]);

const INTAKE_SOURCES = ['sse', 'websockets', 'microservices', 'bullmq', 'bull', 'schedule'] as const;

/** Validates the user's options and applies the defaults (the platform's, where it has them); throws naming the option and the value. */
export function resolveGracefulOptions(
  options: GracefulModuleOptions | undefined = {},
  environment: PlatformEnvironment = processEnvironment(),
): ResolvedGracefulOptions {
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
  const platform = platformOf(options.platform, environment);
  const defaultsFrom: ResolvedGracefulOptions['defaultsFrom'] = {};
  const from = <T>(option: keyof ResolvedGracefulOptions['defaultsFrom'], value: T): T => {
    if (platform.name !== 'none') defaultsFrom[option] = platform.label;
    return value;
  };
  const preStopMs = duration('preStopMs', options.preStopMs, 0);
  const userGrace = options.gracePeriodMs === undefined ? undefined : duration('gracePeriodMs', options.gracePeriodMs, 0, { positive: true });
  const gracePeriodMs = userGrace ?? (platform.gracePeriodMs === undefined ? undefined : from('gracePeriodMs', platform.gracePeriodMs));
  // The deadline fits the grace period, less the preStop hook and a margin for the exit itself.
  const shutdownTimeoutMs =
    options.shutdownTimeoutMs !== undefined || gracePeriodMs === undefined
      ? duration('shutdownTimeoutMs', options.shutdownTimeoutMs, DEFAULT_SHUTDOWN_TIMEOUT_MS, { positive: true })
      : from('shutdownTimeoutMs', Math.max(100, Math.min(DEFAULT_SHUTDOWN_TIMEOUT_MS, gracePeriodMs - preStopMs - exitMargin(gracePeriodMs))));
  const drainShare = shares(shutdownTimeoutMs, DEFAULT_DRAIN_TIMEOUT_MS);
  const drainTimeoutMs =
    options.drainTimeoutMs !== undefined
      ? duration('drainTimeoutMs', options.drainTimeoutMs, DEFAULT_DRAIN_TIMEOUT_MS)
      : drainShare === DEFAULT_DRAIN_TIMEOUT_MS
        ? drainShare
        : from('drainTimeoutMs', drainShare);
  const readiness = readinessDefaults(platform, shutdownTimeoutMs, preStopMs);
  const readinessDelayMs =
    options.readinessDelayMs !== undefined ? duration('readinessDelayMs', options.readinessDelayMs, 0) : from('readinessDelayMs', readiness.boundMs);
  const readinessMinDelayMs =
    options.readinessMinDelayMs !== undefined
      ? duration('readinessMinDelayMs', options.readinessMinDelayMs, 0)
      : Math.min(readinessDelayMs, readiness.floorMs > 0 ? from('readinessMinDelayMs', readiness.floorMs) : 0);
  if (readinessMinDelayMs > readinessDelayMs) {
    throw new InvalidGracefulOptionsError(
      MESSAGES.invalidOption('readinessMinDelayMs', readinessMinDelayMs, `at most readinessDelayMs (${readinessDelayMs}), the longest the delay may take`),
    );
  }
  return {
    hookTimeoutMs: duration('hookTimeoutMs', options.hookTimeoutMs, DEFAULT_HOOK_TIMEOUT_MS, { positive: true }),
    shutdownTimeoutMs,
    signals: signals(options.signals),
    strict: flag('strict', options.strict),
    traceHandles: flag('traceHandles', options.traceHandles),
    readinessDelayMs,
    readinessDelayIfProbed: options.readinessDelayMs === undefined && readiness.ifProbed,
    readinessMinDelayMs,
    readinessQuietMs: duration('readinessQuietMs', options.readinessQuietMs, DEFAULT_READINESS_QUIET_MS),
    drainTimeoutMs,
    gracePeriodMs,
    preStopMs,
    platform,
    defaultsFrom,
    logger: logger(options.logger),
    logPlan: options.logPlan === undefined ? undefined : flag('logPlan', options.logPlan),
    reportFile: reportFile(options.reportFile),
    handleFatalErrors: options.handleFatalErrors === undefined ? true : flag('handleFatalErrors', options.handleFatalErrors),
    finalTimeoutMs: duration('finalTimeoutMs', options.finalTimeoutMs, DEFAULT_FINAL_TIMEOUT_MS, { positive: true }),
    startupTimeoutMs: options.startupTimeoutMs === undefined ? undefined : duration('startupTimeoutMs', options.startupTimeoutMs, 0, { positive: true }),
    readinessWaitsForIntake: options.readinessWaitsForIntake === undefined ? true : flag('readinessWaitsForIntake', options.readinessWaitsForIntake),
    intake: intake(options.intake),
  };
}

/** The process's own surroundings. */
export function processEnvironment(): PlatformEnvironment {
  return { env: process.env, exists: existsSync, hasIpc: typeof process.send === 'function' };
}

function platformOf(value: unknown, environment: PlatformEnvironment): PlatformProfile {
  if (value === undefined) return detectPlatform(environment);
  if (typeof value !== 'string' || !(PLATFORM_NAMES as readonly string[]).includes(value)) {
    throw new InvalidGracefulOptionsError(MESSAGES.invalidOption('platform', value, `one of ${PLATFORM_NAMES.map((name) => `'${name}'`).join(', ')}`));
  }
  return forcedPlatform(value as PlatformName, environment);
}

/** What is kept between the deadline and the platform's kill: 5 s of a long grace period, 1 s of a short one, a quarter of a very short one. */
export function exitMargin(gracePeriodMs: number): number {
  return gracePeriodMs >= 20_000 ? 5000 : gracePeriodMs >= 4000 ? 1000 : Math.round(gracePeriodMs / 4);
}

/** A stage's default (the drain's, the delay's): `fallback`, or 40 % of a shorter deadline. */
function shares(shutdownTimeoutMs: number, fallback: number): number {
  return Math.min(fallback, Math.round(shutdownTimeoutMs * 0.4));
}

/**
 * The readiness delay each platform needs. Where the platform stops routing
 * before SIGTERM (Cloud Run, ECS behind its load balancer), none. Kubernetes
 * removes the pod's endpoint whatever the probe says, and its balancers
 * learn it over the next seconds: up to 5 s, never less than 3 s. Elsewhere
 * the delay only serves a balancer that probes the readiness indicator: up
 * to 5 s (within the budget), and only if something probed it before the signal.
 * A preStop hook has already spent part of it.
 */
function readinessDefaults(platform: PlatformProfile, shutdownTimeoutMs: number, preStopMs: number): { boundMs: number; floorMs: number; ifProbed: boolean } {
  if (platform.stopsRoutingFirst) return { boundMs: 0, floorMs: 0, ifProbed: false };
  const boundMs = Math.max(0, shares(shutdownTimeoutMs, DEFAULT_READINESS_DELAY_MS) - preStopMs);
  if (platform.endpointRemovalWithoutProbe) return { boundMs, floorMs: Math.max(0, DEFAULT_KUBERNETES_MIN_DELAY_MS - preStopMs), ifProbed: false };
  return { boundMs, floorMs: 0, ifProbed: true };
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
 * hooks less than a fifth of the deadline, or a preStop hook and a deadline
 * that do not fit in the grace period with a second to spare (less for very
 * short grace periods such as PM2's).
 */
export function budgetProblems(options: ResolvedGracefulOptions): string[] {
  const problems: string[] = [];
  const { readinessDelayMs, drainTimeoutMs, shutdownTimeoutMs, gracePeriodMs, preStopMs } = options;
  if (shutdownTimeoutMs - readinessDelayMs - drainTimeoutMs < shutdownTimeoutMs / 5) {
    problems.push(MESSAGES.budgetHooksSqueezed(readinessDelayMs, drainTimeoutMs, shutdownTimeoutMs));
  }
  if (gracePeriodMs !== undefined && preStopMs + shutdownTimeoutMs + Math.min(1000, exitMargin(gracePeriodMs)) > gracePeriodMs) {
    problems.push(MESSAGES.budgetOverGracePeriod(shutdownTimeoutMs, gracePeriodMs, preStopMs, options.defaultsFrom.gracePeriodMs));
  }
  return problems;
}
