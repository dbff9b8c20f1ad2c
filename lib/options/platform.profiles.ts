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

/** Detected in this order: the most specific first (a PM2 inside Docker is run by PM2's rules). */
export function detectPlatform({ env, exists, hasIpc }: PlatformEnvironment): PlatformProfile {
  if (env.KUBERNETES_SERVICE_HOST) {
    return {
      name: 'kubernetes',
      label: 'Kubernetes',
      detectedBy: 'KUBERNETES_SERVICE_HOST is set',
      gracePeriodMs: 30_000,
      stopsRoutingFirst: false,
      endpointRemovalWithoutProbe: true,
    };
  }
  if (env.K_SERVICE && env.K_REVISION) {
    return {
      name: 'cloud-run',
      label: 'Cloud Run',
      detectedBy: 'K_SERVICE and K_REVISION are set',
      gracePeriodMs: 10_000,
      stopsRoutingFirst: true,
      endpointRemovalWithoutProbe: false,
    };
  }
  if (env.ECS_CONTAINER_METADATA_URI_V4 || env.ECS_CONTAINER_METADATA_URI || env.AWS_EXECUTION_ENV?.startsWith('AWS_ECS')) {
    return {
      name: 'ecs',
      label: 'Amazon ECS',
      detectedBy: 'ECS_CONTAINER_METADATA_URI_V4 is set',
      gracePeriodMs: parseSeconds(env.ECS_CONTAINER_STOP_TIMEOUT) ?? 30_000,
      stopsRoutingFirst: true,
      endpointRemovalWithoutProbe: false,
    };
  }
  if (env.pm_id !== undefined && hasIpc) {
    return {
      name: 'pm2',
      label: 'PM2',
      detectedBy: 'pm_id is set and PM2 is the parent',
      gracePeriodMs: parseMs(env.kill_timeout) ?? 1600,
      stopsRoutingFirst: false,
      endpointRemovalWithoutProbe: false,
      waitsForReady: env.wait_ready === 'true',
    };
  }
  if (exists('/.dockerenv') || exists('/run/.containerenv')) {
    return {
      name: 'docker',
      label: 'Docker',
      detectedBy: exists('/.dockerenv') ? '/.dockerenv exists' : '/run/.containerenv exists',
      gracePeriodMs: 10_000,
      stopsRoutingFirst: false,
      endpointRemovalWithoutProbe: false,
    };
  }
  return noPlatform('nothing platform-specific in the environment');
}

/** The profile of a platform named in the options (`platform: 'cloud-run'`), with the environment's details where it has them. */
export function forcedPlatform(name: PlatformName, environment: PlatformEnvironment): PlatformProfile {
  if (name === 'none') return noPlatform('platform: none');
  const detected = detectPlatform(environment);
  if (detected.name === name) return { ...detected, detectedBy: `platform: '${name}'` };
  const forced: Record<Exclude<PlatformName, 'none'>, Omit<PlatformProfile, 'detectedBy'>> = {
    kubernetes: { name, label: 'Kubernetes', gracePeriodMs: 30_000, stopsRoutingFirst: false, endpointRemovalWithoutProbe: true },
    'cloud-run': { name, label: 'Cloud Run', gracePeriodMs: 10_000, stopsRoutingFirst: true, endpointRemovalWithoutProbe: false },
    ecs: { name, label: 'Amazon ECS', gracePeriodMs: 30_000, stopsRoutingFirst: true, endpointRemovalWithoutProbe: false },
    docker: { name, label: 'Docker', gracePeriodMs: 10_000, stopsRoutingFirst: false, endpointRemovalWithoutProbe: false },
    pm2: {
      name,
      label: 'PM2',
      gracePeriodMs: parseMs(environment.env.kill_timeout) ?? 1600,
      stopsRoutingFirst: false,
      endpointRemovalWithoutProbe: false,
      waitsForReady: environment.env.wait_ready === 'true',
    },
  };
  return { ...forced[name], detectedBy: `platform: '${name}'` };
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
