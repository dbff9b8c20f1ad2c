import type { AppProcess } from './app-process.js';

/** Every `@OnShutdown` hook of test/fixtures/ordered.app.ts that is not final, sorted. */
export const ORDERED_APP_HOOKS = [
  'ApiController.stop',
  'ApiService.stop',
  'AuditService.close',
  'CacheService.disconnect',
  'CacheService.flush',
  'DbService.close',
  'FlushService.flush',
  'MetricsService.flush',
];

/** The hooks a fixture started, in the order it reported them. */
export const startsOf = (app: AppProcess): string[] => app.events.filter((e) => e.type === 'hook-start').map((e) => e.hook as string);

/** Asserts that `first` ended before `second` started, by the order of the events (`nest-...` events by their own name). */
export function endsBefore(app: AppProcess, first: string, second: string): void {
  const timeline = app.timeline;
  const end = timeline.indexOf(first.startsWith('nest-') ? first : `hook-end:${first}`);
  const start = timeline.indexOf(second.startsWith('nest-') ? second : `hook-start:${second}`);
  expect(end).toBeGreaterThanOrEqual(0);
  expect(start).toBeGreaterThanOrEqual(0);
  if (end > start) throw new Error(`${first} should end before ${second} starts:\n${timeline.join('\n')}`);
}
