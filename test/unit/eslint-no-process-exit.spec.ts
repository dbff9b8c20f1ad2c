import { RuleTester } from 'eslint';
import tseslint from 'typescript-eslint';
import { noProcessExit } from '../../lib/eslint/no-process-exit.rule.js';

const tester = new RuleTester({ languageOptions: { parser: tseslint.parser } });

tester.run('no-process-exit', noProcessExit, {
  valid: [
    {
      name: "main.ts ends a failed bootstrap itself: no provider's hooks to skip",
      code: `
        async function bootstrap() {
          const app = await NestFactory.create(AppModule);
          await app.listen(3000);
        }
        bootstrap().catch((error) => {
          console.error(error);
          process.exit(1);
        });`,
    },
    {
      name: 'a static forRoot() that refuses bad configuration runs before any provider exists',
      code: `
        @Module({})
        export class DatabaseModule {
          static forRoot(url?: string): DynamicModule {
            if (!url) process.exit(1);
            return { module: DatabaseModule };
          }
        }`,
    },
    {
      name: 'a plain class Nest does not create (a CLI entry point)',
      code: `
        export class MigrateCommand {
          async run() {
            await migrate();
            process.exit(0);
          }
        }`,
    },
    {
      name: 'a provider that asks the lifecycle to shut down',
      code: `
        import { GracefulLifecycleService } from 'nestjs-graceful';
        @Injectable()
        export class LicenseService {
          constructor(private readonly lifecycle: GracefulLifecycleService) {}
          async onApplicationBootstrap() {
            if (!(await this.check())) await this.lifecycle.shutdown('license expired');
          }
        }`,
    },
    {
      name: 'a parameter called process is not the process',
      code: `
        @Injectable()
        export class Runner {
          run(process: { exit(code: number): void }) {
            process.exit(1);
          }
        }`,
    },
    {
      name: 'process.exitCode is not an exit',
      code: `
        @Injectable()
        export class HealthService {
          fail() {
            process.exitCode = 1;
          }
        }`,
    },
  ],
  invalid: [
    {
      name: 'a service that gives up on an error',
      code: `
        @Injectable()
        export class PaymentsService {
          private readonly logger = new Logger(PaymentsService.name);
          async charge(order: Order) {
            try {
              await this.gateway.charge(order);
            } catch (error) {
              this.logger.error(error);
              process.exit(1);
            }
          }
        }`,
      errors: [{ messageId: 'processExit', data: { klass: 'PaymentsService' }, line: 10 }],
    },
    {
      name: 'an admin endpoint that ends the process from a timer callback',
      code: `
        @Controller('admin')
        export class AdminController {
          @Post('shutdown')
          shutdown() {
            setTimeout(() => process.exit(0), 100);
            return { ok: true };
          }
        }`,
      errors: [{ messageId: 'processExit', line: 6 }],
    },
    {
      name: 'a BullMQ processor, a gateway and a resolver',
      code: `
        @Processor('mail')
        export class MailProcessor extends WorkerHost {
          async process(job: Job) {
            if (job.attemptsMade > 5) process.exit(2);
          }
        }
        @WebSocketGateway()
        export class EventsGateway {
          @SubscribeMessage('stop')
          stop() {
            process['exit'](0);
          }
        }
        @Resolver(() => User)
        export class UsersResolver {
          @Mutation(() => Boolean)
          quit() {
            globalThis.process.exit(0);
          }
        }`,
      errors: [
        { messageId: 'processExit', data: { klass: 'MailProcessor' } },
        { messageId: 'processExit', data: { klass: 'EventsGateway' } },
        { messageId: 'processExit', data: { klass: 'UsersResolver' } },
      ],
    },
    {
      name: "exit() imported from 'node:process' in onModuleInit",
      code: `
        import { exit } from 'node:process';
        @Injectable()
        export class ConfigCheck {
          onModuleInit() {
            if (!process.env.DATABASE_URL) exit(1);
          }
        }`,
      errors: [{ messageId: 'processExit', line: 6 }],
    },
    {
      name: 'a class with a lifecycle method is a provider even without a decorator, and a named decorator counts',
      code: `
        export class Warmup {
          async onApplicationBootstrap() {
            process.exit(3);
          }
        }
        @Consumer('orders')
        export class OrdersConsumer {
          handle() {
            process.exit(1);
          }
        }`,
      options: [{ decorators: ['Consumer'] }],
      errors: [
        { messageId: 'processExit', data: { klass: 'Warmup' } },
        { messageId: 'processExit', data: { klass: 'OrdersConsumer' } },
      ],
    },
  ],
});

// Plain JavaScript, parsed by ESLint's own parser (espree, which has no decorators): lifecycle methods mark a provider.
new RuleTester().run('no-process-exit (JavaScript)', noProcessExit, {
  valid: [{ code: `class Cli { run() { process.exit(0); } }` }],
  invalid: [{ code: `export class Seeder { async onApplicationBootstrap() { await seed(); process.exit(0); } }`, errors: [{ messageId: 'processExit' }] }],
});
