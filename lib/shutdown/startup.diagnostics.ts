/**
 * Misconfigurations that silently break a graceful shutdown, found while the
 * application starts: each a warning (an error with `strict`) that names
 * what to change. The checks are pure functions of facts gathered here.
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { isatty } from 'node:tty';
import { Inject, Injectable } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';
import { canWatchRpcTargets, microserviceCount } from '../adapter/nest.adapter.js';
import { InvalidGracefulOptionsError } from '../errors/invalid-graceful-options.error.js';
import { GRACEFUL_MODULE_OPTIONS } from '../graceful.constants.js';
import { createGracefulLogger } from '../graceful.logger.js';
import { MESSAGES } from '../graceful.messages.js';
import type { PlatformName } from '../options/platform.profiles.js';
import type { ResolvedGracefulOptions } from '../options/graceful-options.resolver.js';
import { isModuleListener } from '../process/process-signals.js';

const CONTAINERS: readonly PlatformName[] = ['kubernetes', 'cloud-run', 'ecs', 'docker'];
const SHELLS = new Set(['sh', 'bash', 'dash', 'ash', 'zsh', 'ksh', 'busybox']);
const MANAGERS = ['npm', 'yarn', 'pnpm'] as const;
/** Where @nestjs/terminus keeps its options (TerminusModule.forRoot's provider). */
const TERMINUS_OPTIONS = 'TERMINUS:MODULE_OPTIONS';

type NestModule = NonNullable<ReturnType<ModulesContainer['get']>>;

/** How the process was started, as far as it can tell. */
export interface LaunchFacts {
  platform: PlatformName;
  /** `npm_lifecycle_event`: a package.json script started it. */
  script?: string;
  /** `npm_config_user_agent`: which package manager ran the script. */
  userAgent?: string;
  /** The parent's command line, where the system shows it (Linux `/proc`). */
  parent?: string[];
  /** Under a test runner, or at a terminal: run by a person, not stopped by a platform. */
  testRun?: boolean;
}

/**
 * Started through a package manager or a shell inside a container: the
 * warning, or undefined. Not for test runs (`npm test`, Jest, Vitest) or a
 * process at a terminal, which no platform stops with SIGTERM.
 */
export function launcherProblem(facts: LaunchFacts): string | undefined {
  if (!CONTAINERS.includes(facts.platform) || facts.testRun) return undefined;
  const parent = facts.parent ?? [];
  const program = parent.length > 0 ? basename(parent[0]) : '';
  const manager =
    MANAGERS.find((name) => facts.userAgent?.startsWith(`${name}/`)) ??
    MANAGERS.find((name) => program === name || parent.slice(1, 3).some((arg) => basename(arg).startsWith(`${name}`)));
  if (facts.script || manager) return MESSAGES.startedByManager(manager ?? 'a package manager', facts.script);
  if (SHELLS.has(program)) return MESSAGES.startedByShell(program);
  return undefined;
}

/** What decides whether the drain can see the application's microservice servers. */
export interface MicroserviceFacts {
  /** The `intake.microservices` option. */
  drained: boolean;
  /** This Nest registers the servers it creates (@nestjs/core 11.1.4 and later). */
  registry: boolean;
  /** The microservice servers the application runs. */
  servers: number;
}

/**
 * Microservice servers the drain cannot see (a @nestjs/core older than
 * 11.1.4 has no registry of them): the warning, or undefined.
 */
export function microservicesUnseenProblem(facts: MicroserviceFacts): string | undefined {
  return facts.drained && !facts.registry && facts.servers > 0 ? MESSAGES.microservicesUnseen(facts.servers) : undefined;
}

/** The installed version of `name` (`@nestjs/core`), read from the first `node_modules` above `from`, or undefined. */
export function installedVersion(name: string, from: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    try {
      const version = (JSON.parse(readFileSync(join(dir, 'node_modules', name, 'package.json'), 'utf8')) as { version?: unknown }).version;
      if (typeof version === 'string') return version;
    } catch {
      // Not installed here: look further up.
    }
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * @nestjs/terminus of another major than @nestjs/core: the warning, or
 * undefined. Terminus 12 is ESM-only (Jest's CommonJS runtime in a Nest 11
 * app cannot load it); terminus 11 is built for Nest 10 and 11.
 */
export function terminusMajorProblem(core: string | undefined, terminus: string | undefined): string | undefined {
  const major = (version: string | undefined) => (version ? /^(\d+)\./.exec(version)?.[1] : undefined);
  const coreMajor = major(core);
  const terminusMajor = major(terminus);
  if (!coreMajor || !terminusMajor || coreMajor === terminusMajor) return undefined;
  return MESSAGES.terminusMajor(terminus!, core!, coreMajor);
}

/** A listener on a signal the module handles, as the warning names it. */
export interface SignalListener {
  signal: string;
  name: string;
  /** Where it was added, when the module saw it being added. */
  where?: string;
}

/** The parent's command line from `/proc`, or undefined where there is none. */
function parentCommand(): string[] | undefined {
  try {
    const raw = readFileSync(`/proc/${process.ppid}/cmdline`, 'utf8');
    const args = raw.split('\0').filter((arg) => arg !== '');
    return args.length > 0 ? args : undefined;
  } catch {
    return undefined;
  }
}

/** The first stack frame outside Node and this package: who added a listener. */
function adder(stack: string | undefined): string | undefined {
  const frames = (stack ?? '').split('\n').slice(1);
  const frame = frames.find((line) => !line.includes('node:') && !line.includes('startup.diagnostics') && !/nestjs-graceful|\/lib\/shutdown\//.test(line));
  return frame?.trim().replace(/^at /, '');
}

/**
 * Runs the checks at the end of `init()`, and keeps watching for listeners
 * added to the module's signals later on (which it can then name by where
 * they were added). With `strict`, what it finds at init stops the startup.
 */
@Injectable()
export class StartupDiagnostics {
  private readonly logger;
  private readonly addedAt = new Map<(...args: unknown[]) => void, string>();
  private watching = false;
  /** After `init()`, a listener added to a handled signal is warned about at once. */
  private announceLater = false;

  constructor(
    @Inject(GRACEFUL_MODULE_OPTIONS) private readonly options: ResolvedGracefulOptions,
    private readonly modules: ModulesContainer,
  ) {
    this.logger = createGracefulLogger(options.logger, 'GracefulShutdown');
  }

  /** Every problem found now, as messages; `app`: the application, once known. */
  problems(app?: unknown): string[] {
    const problems: string[] = [];
    // Looked at only where the answer can matter: /proc, and the terminal through fd 0 (`process.stdin` would open a stream on it).
    const inContainer = CONTAINERS.includes(this.options.platform.name);
    const launcher = launcherProblem({
      platform: this.options.platform.name,
      script: process.env.npm_lifecycle_event,
      userAgent: process.env.npm_config_user_agent,
      parent: inContainer ? parentCommand() : undefined,
      testRun: inContainer && (Boolean(process.env.JEST_WORKER_ID || process.env.VITEST || isatty(0)) || /^test/.test(process.env.npm_lifecycle_event ?? '')),
    });
    if (launcher) problems.push(launcher);
    const terminus = this.terminusVersions();
    const mismatch = terminus && terminusMajorProblem(terminus.core, terminus.terminus);
    if (mismatch) problems.push(mismatch);
    const terminusMs = this.terminusGraceMs();
    if (terminusMs) problems.push(MESSAGES.terminusGrace(terminusMs));
    for (const listener of this.otherListeners()) problems.push(MESSAGES.otherSignalListener(listener.signal, listener.name, listener.where));
    const unseen = microservicesUnseenProblem({
      drained: this.options.intake.microservices,
      registry: canWatchRpcTargets(this.modules),
      servers: app ? microserviceCount(app) : 0,
    });
    if (unseen) problems.push(unseen);
    return problems;
  }

  /** At the end of `init()`: warns, or with `strict` throws the first problem. */
  check(app?: unknown): void {
    const problems = this.problems(app);
    if (this.options.strict && problems.length > 0) throw new InvalidGracefulOptionsError(MESSAGES.strictPrefix + problems.join('\n'));
    for (const problem of problems) this.logger.warn(problem);
    this.announceLater = true;
  }

  release(): void {
    if (this.watching) process.removeListener('newListener', this.onNewListener);
    this.watching = false;
  }

  /** From the moment the application is known (before its `init()`): listeners added from then on are named by where they were added. */
  watch(): void {
    if (this.watching) return;
    this.watching = true;
    process.on('newListener', this.onNewListener);
  }

  private readonly onNewListener = (event: string | symbol, listener: (...args: unknown[]) => void): void => {
    if (typeof event !== 'string' || !this.options.signals.includes(event) || isModuleListener(listener)) return;
    const where = adder(new Error().stack);
    if (where) this.addedAt.set(listener, where);
    if (this.announceLater) this.logger.warn(MESSAGES.otherSignalListener(event, nameOf(listener), where));
  };

  private otherListeners(): SignalListener[] {
    return this.options.signals.flatMap((signal) =>
      process
        .listeners(signal as NodeJS.Signals)
        .filter((listener) => !isModuleListener(listener))
        .map((listener) => ({ signal, name: nameOf(listener as never), where: this.addedAt.get(listener as never) })),
    );
  }

  /**
   * When the application imports TerminusModule: the versions of
   * @nestjs/core and @nestjs/terminus installed for the entry script (the
   * app's main file, or the test runner's), else for the working directory.
   */
  private terminusVersions(): { core?: string; terminus?: string } | undefined {
    if (!this.terminusModule()) return undefined;
    const from = process.argv[1] ? dirname(process.argv[1]) : process.cwd();
    const core = installedVersion('@nestjs/core', from) ?? installedVersion('@nestjs/core', process.cwd());
    const terminus = installedVersion('@nestjs/terminus', from) ?? installedVersion('@nestjs/terminus', process.cwd());
    return { core, terminus };
  }

  /**
   * terminus' `gracefulShutdownTimeoutMs`, if set. Read in TerminusModule,
   * which provides it: a lookup across the application (`get` with `strict:
   * false`) would make Nest index every provider, milliseconds and
   * megabytes at 16,000.
   */
  private terminusGraceMs(): number | undefined {
    try {
      const terminus = this.terminusModule();
      const options = terminus?.providers.get(TERMINUS_OPTIONS)?.instance as { gracefulShutdownTimeoutMs?: number } | undefined;
      const ms = options?.gracefulShutdownTimeoutMs;
      return typeof ms === 'number' && ms > 0 ? ms : undefined;
    } catch {
      return undefined;
    }
  }

  /** The application's TerminusModule, if it imports it. */
  private terminusModule(): NestModule | undefined {
    for (const module of this.modules.values()) if (module.metatype?.name === 'TerminusModule') return module;
    return undefined;
  }
}

function nameOf(listener: (...args: unknown[]) => void): string {
  // `process.once` wraps the listener; the original is on `.listener`.
  const original = (listener as { listener?: (...args: unknown[]) => void }).listener ?? listener;
  return original.name ? `${original.name}()` : 'an anonymous function';
}
