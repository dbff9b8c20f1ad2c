import type { LifecycleState } from '../lifecycle/lifecycle.record.js';
import type { HookOutcome, IntakeReport, ShutdownReport } from './shutdown-report.interface.js';

/**
 * What `GracefulLifecycleService.events$` reports; `at` is epoch
 * milliseconds. Every shutdown publishes one `shutdown-start` and exactly one
 * `shutdown-end`, which carries the report.
 */
export type GracefulEvent =
  | { type: 'state'; state: LifecycleState; at: number }
  /** The application serves and every startup task (warm-ups, held work) has ended: once, before its first `ready`/`unready`. */
  | { type: 'started'; at: number }
  /** A `@WarmUp()` method or a `holdReadiness()` work ended; `error` when it threw, was rejected or timed out. */
  | { type: 'readiness-hold-end'; name: string; outcome: 'ok' | 'error' | 'timeout'; durationMs: number; error?: string; at: number }
  | { type: 'shutdown-start'; reason: string; deadline: number; at: number }
  | { type: 'hook-start'; hook: string; order: number; final: boolean; at: number }
  | { type: 'hook-end'; hook: string; order: number; final: boolean; outcome: HookOutcome; durationMs?: number; error?: string; at: number }
  | { type: 'hook-error'; hook: string; error: string; stack?: string; at: number }
  | { type: 'hook-timeout'; hook: string; timeoutMs: number; cutByDeadline: boolean; at: number }
  | { type: 'intake-end'; source: IntakeReport; at: number }
  | { type: 'process-exit-call'; code: number; caller?: string; at: number }
  | { type: 'shutdown-end'; report: ShutdownReport; at: number };
