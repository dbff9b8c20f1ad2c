import { RuleTester } from 'eslint';
import tseslint from 'typescript-eslint';
import { passAbortSignal } from '../../lib/eslint/pass-abort-signal.rule.js';

const tester = new RuleTester({ languageOptions: { parser: tseslint.parser } });

const header = `
  import { setTimeout as sleep, scheduler } from 'node:timers/promises';
  import { once } from 'node:events';
  import { finished } from 'node:stream/promises';
  import { OnShutdown, type ShutdownContext } from 'nestjs-graceful';
`;

tester.run('pass-abort-signal', passAbortSignal, {
  valid: [
    {
      name: "a hook that takes no context (the sample's MetricsService.push)",
      code: `${header}
        @Injectable()
        export class MetricsService {
          @OnShutdown()
          async push() {
            await sleep(100);
            await fetch(this.gateway, { method: 'PUT', body: this.registry.metrics() });
          }
        }`,
    },
    {
      name: 'the signal passed, destructured or from the context, to fetch, sleep, once and finished',
      code: `${header}
        @Injectable()
        export class Exporter {
          @OnShutdown({ timeout: 3000 })
          async flush({ signal }: ShutdownContext) {
            await fetch(this.url, { method: 'POST', body: this.buffer, signal });
            await sleep(50, undefined, { signal });
            await scheduler.wait(10, { signal });
            await once(this.socket, 'drain', { signal });
            await finished(this.stream, { signal });
          }
          @OnShutdown()
          async close(ctx: ShutdownContext) {
            await fetch(this.url, { signal: ctx.signal });
            await sleep(50, null, { signal: AbortSignal.any([ctx.signal, this.local.signal]) });
          }
        }`,
    },
    {
      name: 'options the rule cannot see into: a variable or a spread',
      code: `${header}
        @Injectable()
        export class Client {
          @OnShutdown()
          async close({ signal }: ShutdownContext) {
            const init = { method: 'DELETE', signal };
            await fetch(this.url, init);
            await fetch(this.url, { ...this.defaults, method: 'DELETE' });
            await sleep(...this.pause);
          }
        }`,
    },
    {
      name: "a loop that checks the signal between short waits (the sample's DatabaseService.close)",
      code: `${header}
        @Injectable()
        export class DatabaseService {
          @OnShutdown({ timeout: 3000 })
          async close({ signal }: ShutdownContext) {
            while (this.active > 0 && !signal.aborted) await sleep(5);
            for (; !signal.aborted && this.pending(); ) await sleep(5);
          }
        }`,
    },
    {
      name: 'what is not a hook, not awaited, or not an AbortSignal-aware API',
      code: `${header}
        import { setTimeout as timer } from 'node:timers';
        @Injectable()
        export class Worker {
          async poll() { await fetch(this.url); }
          @OnShutdown()
          async stop({ signal }: ShutdownContext) {
            void fetch(this.beacon);
            await new Promise((resolve) => timer(resolve, 100));
            await this.http.get(this.url);
            this.emitter.once('close', () => undefined);
          }
          @OnDrain()
          async drain() { await fetch(this.url); }
        }`,
    },
  ],
  invalid: [
    {
      name: 'a fetch with options but no signal: the suggestion adds it',
      code: `${header}
        @Injectable()
        export class WebhookService {
          @OnShutdown({ timeout: 2000 })
          async notify({ signal }: ShutdownContext) {
            await fetch(this.url, { method: 'POST', body: '{}' });
          }
        }`,
      errors: [
        {
          messageId: 'missingSignal',
          data: { label: 'fetch()', hook: 'WebhookService.notify', fix: "fetch(this.url, { method: 'POST', body: '{}', signal })" },
          suggestions: [
            {
              messageId: 'addSignal',
              data: { fix: "fetch(this.url, { method: 'POST', body: '{}', signal })" },
              output: `${header}
        @Injectable()
        export class WebhookService {
          @OnShutdown({ timeout: 2000 })
          async notify({ signal }: ShutdownContext) {
            await fetch(this.url, { method: 'POST', body: '{}', signal });
          }
        }`,
            },
          ],
        },
      ],
    },
    {
      name: "the sample's OrdersService.flushOutbox: a sleep from timers/promises, outside any loop that checks the signal",
      code: `${header}
        @Injectable()
        export class OrdersService {
          @OnShutdown({ timeout: 2000 })
          async flushOutbox({ signal }: ShutdownContext) {
            for (const item of this.outbox.splice(0)) {
              if (signal.aborted) break;
              await this.db.query(item);
            }
            await sleep(150);
          }
        }`,
      errors: [
        {
          messageId: 'missingSignal',
          data: { label: "setTimeout() from 'node:timers/promises'", hook: 'OrdersService.flushOutbox', fix: 'sleep(150, undefined, { signal })' },
          suggestions: [
            {
              messageId: 'addSignal',
              output: `${header}
        @Injectable()
        export class OrdersService {
          @OnShutdown({ timeout: 2000 })
          async flushOutbox({ signal }: ShutdownContext) {
            for (const item of this.outbox.splice(0)) {
              if (signal.aborted) break;
              await this.db.query(item);
            }
            await sleep(150, undefined, { signal });
          }
        }`,
            },
          ],
        },
      ],
    },
    {
      name: 'the context as a whole, returned and combined waits, once() and finished()',
      code: `${header}
        @Injectable()
        export class StreamService {
          @OnShutdown()
          async close(context: ShutdownContext) {
            await Promise.all([fetch(this.a), once(this.server, 'close')]);
            await finished(this.upload);
            return scheduler.wait(100);
          }
        }`,
      errors: [
        {
          messageId: 'missingSignal',
          data: { label: 'fetch()', hook: 'StreamService.close', fix: 'fetch(this.a, { signal: context.signal })' },
          suggestions: 1,
        },
        {
          messageId: 'missingSignal',
          data: { label: "once() from 'node:events'", hook: 'StreamService.close', fix: "once(this.server, 'close', { signal: context.signal })" },
          suggestions: 1,
        },
        {
          messageId: 'missingSignal',
          data: { label: "finished() from 'node:stream/promises'", hook: 'StreamService.close', fix: 'finished(this.upload, { signal: context.signal })' },
          suggestions: 1,
        },
        {
          messageId: 'missingSignal',
          data: { label: 'scheduler.wait()', hook: 'StreamService.close', fix: 'scheduler.wait(100, { signal: context.signal })' },
          suggestions: 1,
        },
      ],
    },
    {
      name: 'a context destructured without its signal, and a renamed signal',
      code: `${header}
        @Injectable()
        export class ReportService {
          @OnShutdown()
          async send({ reason }: ShutdownContext) {
            await fetch(this.url, { method: 'POST', body: reason });
          }
          @OnShutdown()
          async wait({ signal: abort }: ShutdownContext) {
            await sleep(1000, 'done', {});
          }
        }`,
      errors: [
        {
          messageId: 'missingSignalNotTaken',
          data: { label: 'fetch()', hook: 'ReportService.send', fix: "fetch(this.url, { method: 'POST', body: reason, signal })" },
          suggestions: [],
        },
        {
          messageId: 'missingSignal',
          data: { label: "setTimeout() from 'node:timers/promises'", hook: 'ReportService.wait', fix: "sleep(1000, 'done', { signal: abort })" },
          suggestions: [
            {
              messageId: 'addSignal',
              output: `${header}
        @Injectable()
        export class ReportService {
          @OnShutdown()
          async send({ reason }: ShutdownContext) {
            await fetch(this.url, { method: 'POST', body: reason });
          }
          @OnShutdown()
          async wait({ signal: abort }: ShutdownContext) {
            await sleep(1000, 'done', { signal: abort });
          }
        }`,
            },
          ],
        },
      ],
    },
    {
      name: "require('node:timers/promises') and EventEmitter.once in plain calls",
      code: `
        const timers = require('node:timers/promises');
        import { EventEmitter } from 'node:events';
        @Injectable()
        export class Poller {
          @OnShutdown()
          async stop({ signal }) {
            await timers.setTimeout(100);
            await EventEmitter.once(this.queue, 'idle');
          }
        }`,
      errors: [
        {
          messageId: 'missingSignal',
          data: { label: "setTimeout() from 'node:timers/promises'", hook: 'Poller.stop', fix: 'timers.setTimeout(100, undefined, { signal })' },
          suggestions: 1,
        },
        {
          messageId: 'missingSignal',
          data: { label: "once() from 'node:events'", hook: 'Poller.stop', fix: "EventEmitter.once(this.queue, 'idle', { signal })" },
          suggestions: 1,
        },
      ],
    },
  ],
});
