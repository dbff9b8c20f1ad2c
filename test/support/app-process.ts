import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { WaitList } from '../../lib/drain/wait-list.js';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
/** The compiled sample app, the one the README's first command starts. */
export const SAMPLE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'sample', 'main.js');

export interface AppEvent {
  type: string;
  t: number;
  [key: string]: unknown;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * A fixture application in a real Node.js process: what it printed, the
 * events it reported, how it exited. Every wait is for something the
 * process does, never for time to pass.
 */
export class AppProcess {
  readonly child: ChildProcessWithoutNullStreams;
  stdout = '';
  stderr = '';
  readonly exited: Promise<Exit>;
  private readonly changes = new WaitList();

  /**
   * `fixture`: a file name under test/fixtures, or an absolute path such as SAMPLE.
   * `launch`: how to start it when not as `node <fixture>` (through a shell, npm...): the
   * process then leads its own group, and `dispose()` kills the whole group.
   */
  constructor(
    fixture: string,
    env: Record<string, string> = {},
    private readonly launch?: { command: string; args: (script: string) => string[]; cwd?: string },
  ) {
    const script = fixture.startsWith('/') ? fixture : join(FIXTURES, fixture);
    this.child = spawn(launch ? launch.command : process.execPath, launch ? launch.args(script) : [script], {
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
      cwd: launch?.cwd,
      detached: Boolean(launch),
    });
    this.child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      this.stdout += chunk;
      this.changes.release();
    });
    this.child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
      this.changes.release();
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
    void this.exited.then(() => this.changes.release());
  }

  get output(): string {
    return this.stdout + this.stderr;
  }

  get events(): AppEvent[] {
    return this.stdout
      .split('\n')
      .filter((line) => line.startsWith('EVENT '))
      .map((line) => JSON.parse(line.slice(6)) as AppEvent);
  }

  /** Types and hooks of the events, in order: `hook-start:DbService.close`. */
  get timeline(): string[] {
    return this.events.map((e) => (e.hook ? `${e.type}:${e.hook}` : e.provider ? `${e.type}:${e.provider}` : e.type));
  }

  /** Resolves when `predicate` holds on what the process printed; rejects if it exits first. */
  async until(predicate: () => boolean, what: string): Promise<void> {
    let exited = false;
    void this.exited.then(() => (exited = true));
    while (!predicate()) {
      if (exited || this.child.exitCode !== null || this.child.signalCode !== null) {
        await new Promise((resolve) => setImmediate(resolve));
        if (predicate()) return;
        throw new Error(`process exited before ${what}\n--- output ---\n${this.output}`);
      }
      await this.changes.wait();
    }
  }

  async event(type: string, match: Record<string, unknown> = {}): Promise<AppEvent> {
    const find = () => this.events.find((e) => e.type === type && Object.entries(match).every(([k, v]) => e[k] === v));
    await this.until(() => find() !== undefined, `event ${type} ${JSON.stringify(match)}`);
    return find()!;
  }

  async printed(text: string | RegExp): Promise<void> {
    const test = () => (typeof text === 'string' ? this.output.includes(text) : text.test(this.output));
    await this.until(test, `output ${String(text)}`);
  }

  /** The port a fixture reported with its `listening` event, or the sample logged. */
  async port(): Promise<number> {
    const logged = () => /Listening on http:\/\/[^:]+:(\d+)/.exec(this.stdout)?.[1];
    await this.until(() => this.events.some((e) => e.type === 'listening') || logged() !== undefined, 'listening');
    return Number(logged() ?? this.events.find((e) => e.type === 'listening')!.port);
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  send(line: string): void {
    this.child.stdin.write(`${line}\n`);
  }

  /** Kills the process if a test left it running. */
  dispose(): void {
    if (this.launch) {
      try {
        process.kill(-this.child.pid!, 'SIGKILL');
      } catch {
        // The group is gone already.
      }
      return;
    }
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

/** Starts fixtures and kills whatever a test leaves behind. */
export function appProcesses(): { start(fixture: string, env?: Record<string, string>, launch?: AppProcess['launch']): AppProcess } {
  const started: AppProcess[] = [];
  afterEach(() => started.splice(0).forEach((app) => app.dispose()));
  return {
    start(fixture, env, launch) {
      const app = new AppProcess(fixture, env, launch);
      started.push(app);
      return app;
    },
  };
}
