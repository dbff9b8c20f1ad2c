import type { LifecycleState } from '../lifecycle/lifecycle.record.js';
import type { HookOutcome } from './shutdown-report.interface.js';

/** What `GracefulLifecycleService.events$` reports; `at` is epoch milliseconds. */
export type GracefulEvent =
  | { type: 'state'; state: LifecycleState; at: number }
  | { type: 'hook-start'; hook: string; order: number; final: boolean; at: number }
  | { type: 'hook-end'; hook: string; order: number; final: boolean; outcome: HookOutcome; durationMs?: number; error?: string; at: number }
  | { type: 'hook-error'; hook: string; error: string; at: number }
  | { type: 'hook-timeout'; hook: string; timeoutMs: number; at: number };
