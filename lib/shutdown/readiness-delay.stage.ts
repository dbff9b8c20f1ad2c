import { delayEnd, type DelayEnd, type QuietRule, type TrafficWatch } from '../drain/traffic.watch.js';
import type { GracefulLogger } from '../graceful.logger.js';
import { MESSAGES } from '../graceful.messages.js';
import type { ReadinessDelayReport } from '../interfaces/shutdown-report.interface.js';

/**
 * The readiness delay: serves with readiness down until the balancers have
 * stopped sending: once a probe saw it down and only probes arrived for the
 * quiet period (never before the floor), or at the bound, or when `expired`
 * aborts (the deadline). Resolves with what it saw.
 */
export function readinessDelay(
  rule: QuietRule,
  startedAt: number,
  traffic: TrafficWatch,
  expired: AbortSignal,
  logger: GracefulLogger,
): Promise<ReadinessDelayReport> {
  logger.log(MESSAGES.readinessDelay(rule.boundMs, Math.min(rule.floorMs, rule.boundMs), rule.quietMs));
  return new Promise<ReadinessDelayReport>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const end = (by: DelayEnd) => {
      clearTimeout(timer);
      expired.removeEventListener('abort', onAbort);
      traffic.stop();
      const seen = traffic.snapshot();
      const endedAt = Date.now();
      const report: ReadinessDelayReport = {
        ...rule,
        endedBy: by,
        waitedMs: endedAt - startedAt,
        probeDownAfterMs: seen.probeDownAt === undefined ? undefined : seen.probeDownAt - startedAt,
        lastRequestAfterMs: seen.lastTrafficAt > startedAt ? seen.lastTrafficAt - startedAt : undefined,
        requests: seen.requests,
        probes: seen.probes,
      };
      logger.log(MESSAGES.readinessDelayEnded(report.waitedMs, by));
      resolve(report);
    };
    const onAbort = () => end('deadline');
    const look = () => {
      const next = delayEnd(rule, startedAt, traffic.snapshot());
      const wait = next.at - Date.now();
      clearTimeout(timer);
      if (wait <= 0) end(next.by);
      else timer = setTimeout(look, wait);
    };
    if (expired.aborted) return end('deadline');
    expired.addEventListener('abort', onAbort, { once: true });
    traffic.onChange(look);
    look();
  });
}
