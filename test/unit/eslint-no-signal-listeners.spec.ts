import { RuleTester } from 'eslint';
import tseslint from 'typescript-eslint';
import { noSignalListeners } from '../../lib/eslint/no-signal-listeners.rule.js';

const tester = new RuleTester({ languageOptions: { parser: tseslint.parser } });

tester.run('no-signal-listeners', noSignalListeners, {
  valid: [
    {
      name: 'main.ts that leaves the signals to the module',
      code: `
        async function bootstrap() {
          const app = await NestFactory.create(AppModule);
          app.enableShutdownHooks();
          await app.listen(process.env.PORT ?? 3000);
        }
        void bootstrap();`,
    },
    {
      name: 'events that are not signals the module handles',
      code: `
        process.on('uncaughtException', (error) => logger.error(error));
        process.on('message', (message) => handle(message));
        process.once('SIGUSR2', () => heapdump());
        process.on('SIGHUP', () => reloadConfig());`,
    },
    {
      name: "a child process's or an emitter's own events",
      code: `
        const child = spawn('worker');
        child.on('exit', () => undefined);
        emitter.on('SIGTERM', () => undefined);
        this.process.on('SIGTERM', () => undefined);`,
    },
    {
      name: 'a local called process',
      code: `
        function watch(process: NodeJS.EventEmitter) {
          process.on('SIGTERM', () => undefined);
        }`,
    },
    {
      name: "the module's signals option set to SIGTERM only leaves SIGINT to the app",
      code: `process.on('SIGINT', () => repl.close());`,
      options: [{ signals: ['SIGTERM'] }],
    },
    {
      name: 'a signal name the rule cannot read',
      code: `process.on(name, () => undefined);`,
    },
  ],
  invalid: [
    {
      name: 'the main.ts handler many apps have',
      code: `
        async function bootstrap() {
          const app = await NestFactory.create(AppModule);
          await app.listen(3000);
          process.on('SIGTERM', async () => {
            await app.close();
            process.exit(0);
          });
        }`,
      errors: [{ messageId: 'signalListener', data: { method: 'on', signal: 'SIGTERM' }, line: 5 }],
    },
    {
      name: 'a provider that flushes on Ctrl+C',
      code: `
        @Injectable()
        export class TelemetryService implements OnModuleInit {
          onModuleInit() {
            process.once('SIGINT', () => this.exporter.forceFlush());
            process.prependListener(\`SIGTERM\`, () => this.exporter.forceFlush());
          }
        }`,
      errors: [
        { messageId: 'signalListener', data: { method: 'once', signal: 'SIGINT' } },
        { messageId: 'signalListener', data: { method: 'prependListener', signal: 'SIGTERM' } },
      ],
    },
    {
      name: "process imported from 'node:process', and a signal added to the module's option",
      code: `
        import process from 'node:process';
        process.addListener('SIGTERM', onTerm);
        process.on('SIGHUP', onHup);`,
      options: [{ signals: ['SIGTERM', 'SIGINT', 'SIGHUP'] }],
      errors: [
        { messageId: 'signalListener', data: { method: 'addListener', signal: 'SIGTERM' } },
        { messageId: 'signalListener', data: { method: 'on', signal: 'SIGHUP' } },
      ],
    },
  ],
});

// Plain JavaScript, parsed by ESLint's own parser (espree).
new RuleTester({ languageOptions: { sourceType: 'commonjs' } }).run('no-signal-listeners (JavaScript)', noSignalListeners, {
  valid: [{ code: `const process = require('./fake-process'); process.on('SIGINT', () => server.close());` }],
  invalid: [
    {
      code: `
        const process = require('node:process');
        process.on('SIGINT', () => server.close());`,
      errors: [{ messageId: 'signalListener', data: { method: 'on', signal: 'SIGINT' } }],
    },
  ],
});
