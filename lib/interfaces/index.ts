export * from './graceful-module-options.interface.js';
export * from './on-shutdown-options.interface.js';
export * from './shutdown-context.interface.js';
export * from './shutdown-report.interface.js';
export * from './graceful-event.interface.js';
export * from './on-drain-options.interface.js';
export * from './warm-up-options.interface.js';
