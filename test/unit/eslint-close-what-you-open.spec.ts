import { RuleTester } from 'eslint';
import tseslint from 'typescript-eslint';
import { closeWhatYouOpen } from '../../lib/eslint/close-what-you-open.rule.js';

const tester = new RuleTester({ languageOptions: { parser: tseslint.parser } });

tester.run('close-what-you-open', closeWhatYouOpen, {
  valid: [
    {
      name: 'a pg pool ended in onModuleDestroy',
      code: `
        import { Pool } from 'pg';
        @Injectable()
        export class DatabaseService implements OnModuleDestroy {
          private readonly pool: Pool;
          constructor(config: ConfigService) {
            this.pool = new Pool({ connectionString: config.get('DATABASE_URL') });
          }
          query(sql: string) { return this.pool.query(sql); }
          async onModuleDestroy() { await this.pool.end(); }
        }`,
    },
    {
      name: 'an ioredis client quit in an @OnShutdown() hook',
      code: `
        import Redis from 'ioredis';
        import { OnShutdown } from 'nestjs-graceful';
        @Injectable()
        export class CacheService {
          private redis!: Redis;
          onModuleInit() {
            this.redis = new Redis(process.env.REDIS_URL!).on('error', (e) => this.logger.error(e));
          }
          @OnShutdown({ timeout: 2000 })
          async close() { await this.redis.quit(); }
        }`,
    },
    {
      name: 'an interval cleared in beforeApplicationShutdown, a field initializer included',
      code: `
        @Injectable()
        export class MetricsService {
          private readonly flushTimer = setInterval(() => this.flush(), 10_000);
          beforeApplicationShutdown() { clearInterval(this.flushTimer); }
          flush() {}
        }`,
    },
    {
      name: 'closed by a method the teardown calls',
      code: `
        import { createClient } from 'redis';
        @Injectable()
        export class PubSubService {
          private pub = createClient({ url: process.env.REDIS_URL });
          private sub = this.pub.duplicate();
          async onModuleDestroy() { await this.disconnect(); }
          private async disconnect() { await Promise.all([this.pub, this.sub].map((client) => client.quit())); }
        }`,
    },
    {
      name: 'a BullMQ worker closed in @OnDrain()',
      code: `
        import { Worker } from 'bullmq';
        @Injectable()
        export class MailWorker {
          private worker?: Worker;
          onApplicationBootstrap() {
            this.worker = new Worker('mail', (job) => this.send(job), { connection: this.connection });
          }
          @OnDrain()
          async stop() { await this.worker?.close(); }
        }`,
    },
    {
      name: 'opened and closed inside one method, never kept',
      code: `
        import { Pool } from 'pg';
        @Injectable()
        export class Migrator {
          async onModuleInit() {
            const pool = new Pool();
            await pool.query('select 1');
            await pool.end();
          }
        }`,
    },
    {
      name: 'injected clients are closed by whoever created them',
      code: `
        @Injectable()
        export class SessionsService {
          constructor(@InjectRedis() private readonly redis: Redis, @InjectQueue('mail') private readonly queue: Queue) {}
          onModuleInit() { this.client = this.redisService.getOrThrow(); }
        }`,
    },
    {
      name: 'a class Nest does not create',
      code: `
        import { Pool } from 'pg';
        export class PoolFactory {
          pool = new Pool();
          constructor() { this.timer = setInterval(() => undefined, 1000); }
        }`,
    },
    {
      name: "names that only look like openers: a local Queue, supabase's createClient, RegExp exec, a local connect",
      code: `
        import { createClient } from '@supabase/supabase-js';
        class Queue<T> { items: T[] = []; }
        function connect() { return {}; }
        @Injectable()
        export class SearchService {
          private readonly pending = new Queue<string>();
          private readonly supabase = createClient(url, key);
          constructor() {
            this.match = /id=(\\d+)/.exec(location);
            this.link = connect();
          }
        }`,
    },
    {
      name: 'HTTP clients with nothing to close: Minio, Upstash Redis',
      code: `
        import * as Minio from 'minio';
        import { Redis } from '@upstash/redis';
        @Injectable()
        export class UploadService {
          private client: Minio.Client;
          private cache = new Redis({ url: process.env.UPSTASH_URL, token: process.env.UPSTASH_TOKEN });
          constructor(private readonly config: ConfigService) {
            this.client = new Minio.Client({ endPoint: config.getOrThrow('S3_HOST'), useSSL: false });
          }
        }`,
    },
    {
      name: 'a teardown that hands this on, or indexes it, may close anything',
      code: `
        @Injectable()
        export class A {
          private pool = new Pool();
          onModuleDestroy() { return closeAll(this); }
        }
        @Injectable()
        export class B {
          private pool = new Pool();
          onModuleDestroy() { for (const key of ['pool']) this[key].end(); }
        }`,
    },
    {
      name: "a subclass whose teardown is its parent's",
      code: `
        @Injectable()
        export class OrdersRepository extends BaseRepository {
          constructor() { super(); this.pool = new Pool(); }
        }
        @Injectable()
        export class UsersRepository extends BaseRepository {
          constructor() { super(); this.pool = new Pool(); }
          async onModuleDestroy() { await super.onModuleDestroy(); }
        }`,
    },
  ],
  invalid: [
    {
      name: 'a pg pool opened in the constructor and never ended',
      code: `
        import { Pool } from 'pg';
        @Injectable()
        export class DatabaseService {
          private readonly pool: Pool;
          constructor() {
            this.pool = new Pool({ max: 10 });
          }
          query(sql: string) { return this.pool.query(sql); }
        }`,
      errors: [
        {
          messageId: 'neverClosed',
          data: { klass: 'DatabaseService', what: 'a connection pool', member: 'pool', where: 'the constructor', close: 'await this.pool.end()' },
          line: 7,
        },
      ],
    },
    {
      name: 'a pg Client connected in onModuleInit, its teardown closing something else',
      code: `
        import * as pg from 'pg';
        @Injectable()
        export class ListenService {
          private listener?: pg.Client;
          async onModuleInit() {
            this.listener = new pg.Client(process.env.DATABASE_URL);
            await this.listener.connect();
            await this.listener.query('LISTEN orders');
          }
          @OnShutdown()
          async stop() { this.subscriptions.clear(); }
        }`,
      errors: [
        {
          messageId: 'neverClosed',
          data: {
            klass: 'ListenService',
            what: 'a client',
            member: 'listener',
            where: 'onModuleInit()',
            close: 'await this.listener.end() (or this.listener.close())',
          },
        },
      ],
    },
    {
      name: 'a teardown that closes the channel but not the connection it came from',
      code: `
        import * as amqp from 'amqplib';
        @Injectable()
        export class EventsPublisher implements OnModuleInit, OnModuleDestroy {
          private connection!: amqp.ChannelModel;
          private channel!: amqp.Channel;
          async onModuleInit() {
            this.connection = await amqp.connect(process.env.AMQP_URL!);
            this.channel = await this.connection.createChannel();
          }
          async onModuleDestroy() { await this.channel.close(); }
        }`,
      errors: [
        {
          messageId: 'neverClosed',
          data: { klass: 'EventsPublisher', what: 'a connection', member: 'connection', where: 'onModuleInit()', close: 'await this.connection.close()' },
        },
      ],
    },
    {
      name: 'an unref()ed interval in a field still fires while the shutdown closes what it uses',
      code: `
        @Injectable()
        export class OutboxRelay {
          private readonly timer = setInterval(() => void this.relay(), 500).unref();
          async relay() {}
        }`,
      errors: [
        {
          messageId: 'neverClosed',
          data: { klass: 'OutboxRelay', what: 'an interval', member: 'timer', where: 'a field initializer', close: 'clearInterval(this.timer)' },
        },
      ],
    },
    {
      name: 'a BullMQ worker and a worker thread started at bootstrap',
      code: `
        import { Worker } from 'bullmq';
        import { Worker as Thread } from 'node:worker_threads';
        @Injectable()
        export class ImageService implements OnApplicationBootstrap {
          private worker?: Worker;
          private thread?: Thread;
          onApplicationBootstrap() {
            this.worker = new Worker('images', async (job) => this.resize(job), { connection: { host: 'localhost' } });
            this.thread = new Worker(new URL('./resize.js', import.meta.url));
          }
        }`,
      errors: [
        {
          messageId: 'neverClosed',
          data: {
            klass: 'ImageService',
            what: 'a worker',
            member: 'worker',
            where: 'onApplicationBootstrap()',
            close: 'await this.worker.close() (BullMQ) or await this.worker.terminate() (worker_threads)',
          },
        },
        { messageId: 'neverClosed', line: 10 },
      ],
    },
    {
      name: 'a child process kept through a local, and a metrics server, opened in a method onModuleInit calls',
      code: `
        import { spawn } from 'node:child_process';
        import * as http from 'node:http';
        @Injectable()
        export class TranscoderService {
          private ffmpeg?: ChildProcess;
          private server?: http.Server;
          onModuleInit() { this.start(); }
          private start() {
            const child = spawn('ffmpeg', ['-i', 'pipe:0']);
            this.ffmpeg = child;
            this.server = http.createServer((req, res) => res.end('ok')).listen(9464);
          }
          @OnShutdown()
          stop() { this.logger.log('stopping'); }
        }`,
      errors: [
        {
          messageId: 'neverClosed',
          data: { klass: 'TranscoderService', what: 'a child process', member: 'ffmpeg', where: 'start()', close: 'this.ffmpeg.kill()' },
        },
        { messageId: 'neverClosed', data: { klass: 'TranscoderService', what: 'a server', member: 'server', where: 'start()', close: 'this.server.close()' } },
      ],
    },
    {
      name: 'a node-redis client from require(), an ioredis Cluster, and a private field',
      code: `
        const redis = require('redis');
        @Injectable()
        export class LocksService {
          #cluster = new Redis.Cluster([{ host: 'a' }]);
          async onModuleInit() {
            this.client ??= await redis.createClient().connect();
          }
        }`,
      errors: [
        {
          messageId: 'neverClosed',
          data: { klass: 'LocksService', what: 'a Redis connection', member: '#cluster', where: 'a field initializer', close: 'await this.#cluster.quit()' },
        },
        {
          messageId: 'neverClosed',
          data: {
            klass: 'LocksService',
            what: 'a client',
            member: 'client',
            where: 'onModuleInit()',
            close: 'await this.client.quit() (or this.client.close())',
          },
        },
      ],
    },
  ],
});

// Plain JavaScript, parsed by ESLint's own parser: a class with lifecycle methods is a provider.
new RuleTester({ languageOptions: { sourceType: 'commonjs' } }).run('close-what-you-open (JavaScript)', closeWhatYouOpen, {
  valid: [
    {
      code: `
        const { Pool } = require('pg');
        class Db { onModuleInit() { this.pool = new Pool(); } onApplicationShutdown() { return this.pool.end(); } }`,
    },
  ],
  invalid: [
    {
      code: `
        const cp = require('child_process');
        class Sidecar { onApplicationBootstrap() { this.proc = cp.fork('./sidecar.js'); } onModuleDestroy() {} }`,
      errors: [
        {
          messageId: 'neverClosed',
          data: { klass: 'Sidecar', what: 'a child process', member: 'proc', where: 'onApplicationBootstrap()', close: 'this.proc.kill()' },
        },
      ],
    },
  ],
});
