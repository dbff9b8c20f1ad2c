/**
 * Where the application runs, detected from its environment, and the time
 * budget each platform documents. Pure: the environment comes in as data, so
 * that every profile is tested without the platform.
 */

/** A platform the module knows the budget of, or `'none'`. */
export type PlatformName = 'kubernetes' | 'cloud-run' | 'ecs' | 'docker' | 'pm2' | 'none';

export const PLATFORM_NAMES: readonly PlatformName[] = ['kubernetes', 'cloud-run', 'ecs', 'docker', 'pm2', 'none'];

/** What the process can see of its surroundings. */
export interface PlatformEnvironment {
  env: NodeJS.ProcessEnv;
  /** Whether a path exists (for `/.dockerenv`). */
  exists(path: string): boolean;
  /** Whether a parent process can receive messages (`process.send`), as under PM2. */
  hasIpc: boolean;
}

export interface PlatformProfile {
  name: PlatformName;
  /** As the startup plan shows it: "Cloud Run". */
  label: string;
  /** How it was recognised, for the plan: "K_SERVICE is set". */
  detectedBy: string;
  /** The time from SIGTERM to SIGKILL the platform gives by default. */
  gracePeriodMs?: number;
  /** Whether the platform stops routing to the instance before SIGTERM (then no readiness delay is needed). */
  stopsRoutingFirst: boolean;
  /** Whether load balancers learn of the shutdown only from the pod's deletion, not from the probe: the delay gets a floor. */
  endpointRemovalWithoutProbe: boolean;
  /** PM2 with `wait_ready`: it waits for `process.send('ready')`. */
  waitsForReady?: boolean;
}

/** What each platform documents; the environment adds its own numbers where it has them (ECS, PM2). */
const PROFILES: Record<Exclude<PlatformName, 'none'>, Omit<PlatformProfile, 'name' | 'detectedBy'>> = {
  kubernetes: { label: 'Kubernetes', gracePeriodMs: 30_000, stopsRoutingFirst: false, endpointRemovalWithoutProbe: true },
  'cloud-run': { label: 'Cloud Run', gracePeriodMs: 10_000, stopsRoutingFirst: true, endpointRemovalWithoutProbe: false },
  ecs: { label: 'Amazon ECS', gracePeriodMs: 30_000, stopsRoutingFirst: true, endpointRemovalWithoutProbe: false },
  docker: { label: 'Docker', gracePeriodMs: 10_000, stopsRoutingFirst: false, endpointRemovalWithoutProbe: false },
  pm2: { label: 'PM2', gracePeriodMs: 1600, stopsRoutingFirst: false, endpointRemovalWithoutProbe: false },
};

function profile(name: Exclude<PlatformName, 'none'>, { env }: PlatformEnvironment, detectedBy: string): PlatformProfile {
  const base: PlatformProfile = { name, detectedBy, ...PROFILES[name] };
  if (name === 'ecs') return { ...base, gracePeriodMs: parseSeconds(env.ECS_CONTAINER_STOP_TIMEOUT) ?? base.gracePeriodMs };
  if (name === 'pm2') return { ...base, gracePeriodMs: parseMs(env.kill_timeout) ?? base.gracePeriodMs, waitsForReady: env.wait_ready === 'true' };
  return base;
}

/** Detected in this order: the most specific first (a PM2 inside Docker is run by PM2's rules). */
export function detectPlatform(environment: PlatformEnvironment): PlatformProfile {
  const { env, exists, hasIpc } = environment;
  if (env.KUBERNETES_SERVICE_HOST) return profile('kubernetes', environment, 'KUBERNETES_SERVICE_HOST is set');
  if (env.K_SERVICE && env.K_REVISION) return profile('cloud-run', environment, 'K_SERVICE and K_REVISION are set');
  const ecs = (['ECS_CONTAINER_METADATA_URI_V4', 'ECS_CONTAINER_METADATA_URI'] as const).find((name) => env[name]);
  if (ecs) return profile('ecs', environment, `${ecs} is set`);
  if (env.AWS_EXECUTION_ENV?.startsWith('AWS_ECS')) return profile('ecs', environment, `AWS_EXECUTION_ENV is ${env.AWS_EXECUTION_ENV}`);
  if (env.pm_id !== undefined && env.pm_id !== '' && hasIpc) return profile('pm2', environment, 'pm_id is set and PM2 is the parent');
  if (exists('/.dockerenv')) return profile('docker', environment, '/.dockerenv exists');
  if (exists('/run/.containerenv')) return profile('docker', environment, '/run/.containerenv exists');
  return noPlatform('nothing platform-specific in the environment');
}

/** The profile of a platform named in the options (`platform: 'cloud-run'`), with the environment's numbers where it has them. */
export function forcedPlatform(name: PlatformName, environment: PlatformEnvironment): PlatformProfile {
  return name === 'none' ? noPlatform('platform: none') : profile(name, environment, `platform: '${name}'`);
}

function noPlatform(detectedBy: string): PlatformProfile {
  return { name: 'none', label: 'none', detectedBy, stopsRoutingFirst: false, endpointRemovalWithoutProbe: false };
}

function parseMs(value: string | undefined): number | undefined {
  const ms = value === undefined || value.trim() === '' ? NaN : Number(value);
  return Number.isFinite(ms) && ms > 0 ? ms : undefined;
}

/** ECS_CONTAINER_STOP_TIMEOUT is a Go duration such as "30s" or "2m". */
function parseSeconds(value: string | undefined): number | undefined {
  const match = value?.trim().match(/^(\d+(?:\.\d+)?)(ms|s|m)?$/);
  if (!match) return undefined;
  const n = Number(match[1]);
  return match[2] === 'ms' ? n : match[2] === 'm' ? n * 60_000 : n * 1000;
}
