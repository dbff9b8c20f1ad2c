import type { StartupStep } from '../startup/startup.tracker.js';

const WIDTH = 40;

/**
 * The startup as text, like the shutdown's timeline: each provider's
 * `onModuleInit` / `onApplicationBootstrap`, `listen()` and each warm-up as a
 * bar on one time axis from the module's construction, with its duration.
 */
export function formatStartupTimeline(steps: StartupStep[], startedAt: number, endedAt: number): string {
  const total = Math.max(1, endedAt - startedAt);
  const labelWidth = Math.max(0, ...steps.map((step) => step.name.length));
  const msWidth = String(total).length;
  const offset = (t: number) => String(t - startedAt).padStart(msWidth);
  const header = `Startup timeline: ${total} ms, ${steps.length} step(s)`;
  const lines = steps.map((step) => {
    const end = step.end ?? endedAt;
    const from = Math.min(WIDTH - 1, Math.max(0, Math.floor(((step.start - startedAt) / total) * WIDTH)));
    const to = Math.max(from + 1, Math.min(WIDTH, Math.ceil(((end - startedAt) / total) * WIDTH)));
    const bar = ' '.repeat(from) + '█'.repeat(to - from) + ' '.repeat(WIDTH - to);
    const note = step.end === undefined ? 'still running' : `${step.end - step.start} ms${step.outcome && step.outcome !== 'ok' ? `, ${step.outcome}` : ''}`;
    return `${step.name.padEnd(labelWidth)} |${bar}| ${offset(step.start)} - ${offset(end)} ms  ${note}`;
  });
  return [header, ...lines].join('\n');
}
