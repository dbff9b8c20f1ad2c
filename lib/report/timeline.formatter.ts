import type { CutRequest, DrainReport, IntakeReport, ShutdownReport } from '../interfaces/shutdown-report.interface.js';

const WIDTH = 40;

/**
 * The shutdown as text, like a Gantt chart: each stage and each hook as a
 * bar on one time axis, with its times and outcome.
 */
export function formatTimeline(report: ShutdownReport): string {
  const t0 = report.startedAt;
  const total = Math.max(1, report.endedAt - t0);
  const rows: Array<{ label: string; start?: number; end?: number; note: string }> = [];
  for (const stage of report.stages) {
    if (stage.name === 'hooks' || stage.name === 'final hooks') {
      const hooks = report.hooks.filter((hook) => Boolean(hook.final) === (stage.name === 'final hooks'));
      for (const hook of [...hooks].sort((a, b) => (a.start ?? Infinity) - (b.start ?? Infinity))) {
        rows.push({ label: hook.name, start: hook.start, end: hook.end, note: hook.outcome + (hook.error ? `: ${hook.error}` : '') });
      }
      continue;
    }
    rows.push({ label: stage.name, start: stage.start, end: stage.end, note: stage.name === 'readiness delay' ? delayNote(report.readinessDelay) : '' });
    if (stage.name !== 'drain') continue;
    // One row per source of work, under the drain.
    for (const source of report.intake ?? [])
      rows.push({ label: `  ${source.name}`, start: source.start, end: source.end, note: intakeNote(source, report.drain, report.intake) });
  }
  const labelWidth = Math.max(0, ...rows.map((row) => row.label.length));
  const msWidth = String(total).length;
  const offset = (t: number) => String(t - t0).padStart(msWidth);
  const header = `Shutdown timeline (${report.reason}): ${total} ms, exit code ${report.exitCode}${report.deadlineExceeded ? ', deadline exceeded' : ''}`;
  const axis = `${' '.repeat(labelWidth)}  0 ms${' '.repeat(Math.max(1, WIDTH - 3 - String(total).length - 3))}${total} ms`;
  const lines = rows.map(({ label, start, end, note }) => {
    if (start === undefined || end === undefined) return `${label.padEnd(labelWidth)} |${' '.repeat(WIDTH)}| ${' '.repeat(msWidth * 2 + 5)}  ${note}`;
    const from = Math.min(WIDTH - 1, Math.floor(((start - t0) / total) * WIDTH));
    const to = Math.max(from + 1, Math.min(WIDTH, Math.ceil(((end - t0) / total) * WIDTH)));
    const bar = ' '.repeat(from) + '█'.repeat(to - from) + ' '.repeat(WIDTH - to);
    return `${label.padEnd(labelWidth)} |${bar}| ${offset(start)} - ${offset(end)} ms  ${note}`.trimEnd();
  });
  return [header, axis, ...lines].join('\n');
}

/** Why the readiness delay ended, and what it saw. */
export function delayNote(delay: ShutdownReport['readinessDelay']): string {
  if (!delay) return '';
  const probe = delay.probeDownAfterMs === undefined ? 'no readiness probe saw it down' : `a probe saw it down at ${delay.probeDownAfterMs} ms`;
  const last = delay.lastRequestAfterMs === undefined ? 'no request but probes' : `last request at ${delay.lastRequestAfterMs} ms`;
  const why =
    delay.endedBy === 'quiet'
      ? `ended early: quiet for ${delay.quietMs} ms`
      : delay.endedBy === 'bound'
        ? `ended at its bound (${delay.boundMs} ms)`
        : 'cut by the deadline';
  return `${why}; ${probe}, ${last}${delay.floorMs > 0 ? `; floor ${delay.floorMs} ms` : ''}`;
}

/** What one source did: its numbers, and what was still running at the drain's end. */
export function intakeNote(source: IntakeReport, drain?: DrainReport, intake: IntakeReport[] = [source]): string {
  // A WebSocket source counts sockets closed, or (gateway handlers) messages answered.
  const done = source.kind === 'websocket' && source.unit !== 'socket' ? 'answered' : DONE[source.kind];
  const parts = [`${source.finished} ${source.unit}(s) ${done}`];
  // The drain's count covers every server: said on the row when there is one.
  if (source.kind === 'http' && drain && intake.filter((row) => row.kind === 'http').length <= 1)
    parts.push(`${drain.idleConnectionsClosed} idle connection(s) closed`);
  if (source.stillRunning > 0) parts.push(`${source.stillRunning} still running at the drain's end`);
  const cut = source.kind === 'http' ? (drain?.cutRequests ?? []).filter((request) => request.server === source.name) : [];
  if (cut.length > 0) parts.push(`cut: ${cutList(cut, source.stillRunning)}`);
  if (source.lost) parts.push(`${source.lost} lost`);
  if (source.outcome === 'error') parts.push(`failed: ${source.error ?? ''}`);
  return parts.join(', ');
}

/** `GET /poll (ran 5012 ms), POST /upload (ran 4980 ms), and 3 more`: the first three named. */
export function cutList(cut: CutRequest[], total = cut.length, named = 3): string {
  const shown = cut.slice(0, named).map((request) => `${request.method} ${request.path} (ran ${request.runningMs} ms)`);
  return shown.join(', ') + (total > shown.length ? `, and ${total - shown.length} more` : '');
}

const DONE: Record<IntakeReport['kind'], string> = {
  http: 'completed',
  sse: 'ended',
  websocket: 'closed',
  microservice: 'finished',
  queue: 'finished',
  schedule: 'finished',
  'on-drain': 'returned',
  tracked: 'settled',
};
