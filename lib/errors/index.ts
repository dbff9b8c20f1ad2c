export * from './hook-timeout.error.js';
export * from './invalid-graceful-options.error.js';
export * from './shutdown-plan.error.js';
