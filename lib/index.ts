export { GracefulModule } from './graceful.module.js';
export { OnShutdown } from './decorators/on-shutdown.decorator.js';
export { GracefulLifecycleService } from './lifecycle/graceful-lifecycle.service.js';
export type { LifecycleState } from './lifecycle/lifecycle.record.js';
export { GracefulHealthIndicator, type GracefulHealthOptions } from './health/graceful.health-indicator.js';
export { GracefulExitCode, GRACEFUL_MODULE_OPTIONS, ON_SHUTDOWN_METADATA } from './graceful.constants.js';
export type { HookSpec, StopPhase, StopPlan, StopUnit, PlanWarning } from './graph/stop-plan.types.js';
export * from './errors/index.js';
export * from './interfaces/index.js';
