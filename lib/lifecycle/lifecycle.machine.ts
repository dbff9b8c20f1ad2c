/**
 * The lifecycle as one state machine: its states and the only moves
 * allowed between them. Pure (no Nest, no timers): `LifecycleRecord` is its
 * one writer, and refuses any other move.
 *
 *   starting -> ready <-> unready -> draining -> stopping -> stopped
 *   starting -> failed -> stopped
 *
 * `ready` and `unready` are one step: the application serves, and readiness
 * says whether it takes traffic. A shutdown may begin from `starting` (a
 * signal during the warm-ups, or during a startup step that then ends), and
 * its run may end straight from `draining` (when the sequence itself
 * failed). `failed`: the startup failed before any shutdown began (`init()`,
 * `listen()` or a warm-up threw or timed out, `startupTimeoutMs` passed, a
 * signal inside `NestFactory.create()`); the rollback runs in it, then
 * `stopped`.
 */
export type LifecycleState = 'starting' | 'ready' | 'unready' | 'draining' | 'stopping' | 'stopped' | 'failed';

export const LIFECYCLE_EDGES: Readonly<Record<LifecycleState, readonly LifecycleState[]>> = {
  starting: ['ready', 'unready', 'draining', 'failed'],
  ready: ['unready', 'draining'],
  unready: ['ready', 'draining'],
  draining: ['stopping', 'stopped'],
  stopping: ['stopped'],
  failed: ['stopped'],
  stopped: [],
};

/** Whether `from -> to` is one of the allowed moves. */
export function canMove(from: LifecycleState, to: LifecycleState): boolean {
  return LIFECYCLE_EDGES[from].includes(to);
}

/** The states in which the shutdown (or a failed startup's rollback) has begun: nothing starts or rejoins the balancer. */
export function isShuttingDown(state: LifecycleState): boolean {
  return state === 'draining' || state === 'stopping' || state === 'stopped' || state === 'failed';
}
