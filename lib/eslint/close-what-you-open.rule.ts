import type { Rule, SourceCode } from 'eslint';
import type { TSESTree } from '@typescript-eslint/types';
import {
  type ClassNode,
  className,
  hasDecorator,
  isNestClass,
  memberFunction,
  memberName,
  OPENING_METHODS,
  ruleOptions,
  TEARDOWN_DECORATORS,
  TEARDOWN_METHODS,
  walk,
} from './nest-class.matcher.js';
import { calleeOrigin, propertyName, unwrap } from './source.bindings.js';

type Node = TSESTree.Node;

interface CloseWhatYouOpenOptions {
  /** More class decorators that mark a class Nest runs. */
  decorators: string[];
}

/** What was opened, and the line that closes it (`$` stands for the member). */
interface Resource {
  what: string;
  close: string;
}

interface Opener extends Resource {
  /** The modules it must come from; undefined: any import or require (constructors: any name in scope). */
  sources?: readonly (string | undefined)[];
  /** Modules whose class of that name holds no connection (HTTP clients). */
  notFrom?: readonly string[];
}

/** ioredis; not @upstash/redis, whose `Redis` speaks HTTP and has nothing to close. */
const REDIS: Opener = { what: 'a Redis connection', close: 'await $.quit()', notFrom: ['@upstash/redis'] };
/**
 * `Client` is too common a name to take on its own (Minio, Notion and most
 * HTTP SDKs export one with nothing to close): only these modules' clients.
 */
const CLIENT_MODULES: readonly string[] = [
  'pg',
  'cassandra-driver',
  '@elastic/elasticsearch',
  '@opensearch-project/opensearch',
  'ssh2',
  'undici',
  'ldapts',
  'basic-ftp',
  'hazelcast-client',
];
const BULL: readonly string[] = ['bullmq', 'bull'];

/** `new X(...)`: the class names Nest apps open connections, pools, workers and sockets with. */
const CONSTRUCTORS: Record<string, Opener> = {
  Pool: { what: 'a connection pool', close: 'await $.end()' },
  Client: { what: 'a client', close: 'await $.end() (or $.close())', sources: CLIENT_MODULES },
  Redis: REDIS,
  IORedis: REDIS,
  Cluster: REDIS,
  MongoClient: { what: 'a MongoDB client', close: 'await $.close()' },
  Worker: { what: 'a worker', close: 'await $.close() (BullMQ) or await $.terminate() (worker_threads)' },
  Queue: { what: 'a queue', close: 'await $.close()', sources: BULL },
  QueueEvents: { what: 'a queue events listener', close: 'await $.close()', sources: BULL },
  FlowProducer: { what: 'a flow producer', close: 'await $.close()', sources: BULL },
  WebSocket: { what: 'a WebSocket', close: '$.close()' },
  WebSocketServer: { what: 'a WebSocket server', close: '$.close()' },
};

/** `f(...)` or `module.f(...)`: functions that open something, some only when imported from a known module. */
const FACTORIES: Record<string, Opener> = {
  createClient: { what: 'a client', close: 'await $.quit() (or $.close())', sources: ['redis', '@redis/client', '@clickhouse/client', 'graphql-ws'] },
  createPool: { what: 'a connection pool', close: 'await $.end()' },
  createConnection: { what: 'a connection', close: 'await $.end() (or $.destroy())' },
  createServer: { what: 'a server', close: '$.close()' },
  createSecureServer: { what: 'a server', close: '$.close()' },
  connect: {
    what: 'a connection',
    close: 'await $.close()',
    sources: ['amqplib', 'amqplib/callback_api', 'amqp-connection-manager', 'mqtt', 'nats', '@nats-io/transport-node'],
  },
  setInterval: { what: 'an interval', close: 'clearInterval($)', sources: [undefined, 'timers'] },
  spawn: { what: 'a child process', close: '$.kill()', sources: ['child_process'] },
  fork: { what: 'a child process', close: '$.kill()', sources: ['child_process'] },
  exec: { what: 'a child process', close: '$.kill()', sources: ['child_process'] },
  execFile: { what: 'a child process', close: '$.kill()', sources: ['child_process'] },
};

/** Calls on an opened thing that return the same thing: `createClient().on('error', …)`, `setInterval(…).unref()`, node-redis `await createClient().connect()`. */
const SAME_THING: readonly string[] = ['on', 'once', 'unref', 'ref', 'listen', 'setMaxListeners', 'connect'];

/**
 * A provider that opens a resource in its constructor, a field initializer,
 * `onModuleInit` or `onApplicationBootstrap` (or a method those call), keeps
 * it on `this`, and never mentions that member in a method that runs at the
 * shutdown (`@OnShutdown()`, `@OnDrain()`, `onModuleDestroy`,
 * `beforeApplicationShutdown`, `onApplicationShutdown`, or a method those
 * call): the pool, client, server, interval, worker or child process stays
 * open while the application stops, and keeps the event loop alive.
 *
 * Built to stay quiet when unsure: only members of `this` are followed; any
 * mention of the member in a teardown method counts as closing it; a
 * teardown that passes `this` along or reads `this[key]` counts as closing
 * everything; a subclass whose teardown is its parent's is left alone.
 */
export const closeWhatYouOpen: Rule.RuleModule = {
  meta: {
    type: 'problem',
    docs: {
      description:
        'Require a provider that opens a pool, client, server, interval, worker or child process at startup to close it in an @OnShutdown() (or Nest teardown) method',
      recommended: true,
    },
    schema: [
      {
        type: 'object',
        properties: { decorators: { type: 'array', items: { type: 'string' }, uniqueItems: true } },
        additionalProperties: false,
      },
    ],
    messages: {
      neverClosed:
        '{{klass}} opens {{what}} as `this.{{member}}` in {{where}}, and no method that runs at the shutdown touches it: it stays open while the application stops. ' +
        'Close it in an @OnShutdown() method (or onModuleDestroy/beforeApplicationShutdown/onApplicationShutdown): `{{close}}`.',
    },
  },
  create(context) {
    const { decorators = [] } = ruleOptions<CloseWhatYouOpenOptions>(context);
    const check = (node: Rule.Node) => {
      const klass = node as unknown as ClassNode;
      if (isNestClass(klass, decorators)) checkClass(context, klass);
    };
    return { ClassDeclaration: check, ClassExpression: check } as Rule.RuleListener;
  },
};

interface OpenSite extends Resource {
  member: string;
  node: Node;
  where: string;
}

function checkClass(context: Rule.RuleContext, klass: ClassNode): void {
  const sourceCode = context.sourceCode;
  const members = klass.body.body.filter((member) => !('static' in member && member.static));
  const byName = new Map<string, TSESTree.ClassElement[]>();
  for (const member of members) {
    const name = memberName(member);
    if (name !== undefined) byName.set(name, [...(byName.get(name) ?? []), member]);
  }

  const opening = reachable(sourceCode, byName, (name, member) => OPENING_METHODS.includes(name) && member.type === 'MethodDefinition');
  const teardown = reachable(
    sourceCode,
    byName,
    (name, member) => TEARDOWN_METHODS.includes(name) || (member.type === 'MethodDefinition' && hasDecorator(member, TEARDOWN_DECORATORS)),
  );

  const opened = new Map<string, OpenSite>();
  const note = (site: OpenSite) => {
    if (!opened.has(site.member)) opened.set(site.member, site);
  };
  for (const member of members) {
    const name = memberName(member);
    if (member.type === 'PropertyDefinition' && name !== undefined && member.value && !memberFunction(member)) {
      const resource = resourceOf(context, member.value);
      if (resource) note({ ...resource, member: name, node: member, where: 'a field initializer' });
    }
  }
  for (const [name, fn] of opening) {
    const where = name === 'constructor' ? 'the constructor' : `${name}()`;
    const locals = new Map<string, Resource>();
    walk(fn, sourceCode, (node) => {
      if (node.type === 'VariableDeclarator' && node.id.type === 'Identifier' && node.init) {
        const resource = resourceOf(context, node.init);
        if (resource) locals.set(node.id.name, resource);
      }
      if (node.type === 'AssignmentExpression' && ['=', '??=', '||='].includes(node.operator) && node.left.type === 'MemberExpression') {
        const member = node.left.object.type === 'ThisExpression' ? propertyName(node.left) : undefined;
        if (member === undefined) return;
        const value = unwrap(node.right);
        const resource = value?.type === 'Identifier' ? locals.get(value.name) : resourceOf(context, node.right);
        if (resource) note({ ...resource, member, node, where });
      }
    });
  }
  if (opened.size === 0) return;

  const touched = touchedMembers(sourceCode, [...teardown.values()]);
  if (touched === 'all') return;
  if (klass.superClass && (teardown.size === 0 || touched.callsSuper)) return;

  for (const site of opened.values()) {
    if (touched.names.has(site.member)) continue;
    const self = `this.${site.member}`;
    context.report({
      node: site.node as unknown as Rule.Node,
      messageId: 'neverClosed',
      data: { klass: className(klass), what: site.what, member: site.member, where: site.where, close: site.close.replaceAll('$', self) },
    });
  }
}

/**
 * The class's methods that `start` picks, and every method they reach through
 * `this.method(…)` or `this.getter`, as name → function.
 */
function reachable(
  sourceCode: SourceCode,
  byName: Map<string, TSESTree.ClassElement[]>,
  start: (name: string, member: TSESTree.ClassElement) => boolean,
): Map<string, TSESTree.FunctionLike> {
  const found = new Map<string, TSESTree.FunctionLike>();
  const queue: string[] = [];
  const add = (name: string) => {
    for (const member of byName.get(name) ?? []) {
      const fn = memberFunction(member);
      if (fn && !found.has(name)) {
        found.set(name, fn);
        queue.push(name);
      }
    }
  };
  for (const [name, members] of byName) if (members.some((member) => start(name, member))) add(name);
  while (queue.length > 0) {
    const fn = found.get(queue.shift()!)!;
    walk(fn, sourceCode, (node) => {
      if (node.type === 'MemberExpression' && node.object.type === 'ThisExpression') {
        const name = propertyName(node);
        if (name !== undefined) add(name);
      }
    });
  }
  return found;
}

/** The members of `this` the functions mention, or 'all' when they hand `this` on or index it. */
function touchedMembers(sourceCode: SourceCode, functions: TSESTree.FunctionLike[]): { names: Set<string>; callsSuper: boolean } | 'all' {
  const names = new Set<string>();
  let all = false;
  let callsSuper = false;
  for (const fn of functions) {
    walk(fn, sourceCode, (node) => {
      if (node.type === 'Super') callsSuper = true;
      if (node.type !== 'ThisExpression') return;
      const parent = node.parent;
      if (parent?.type === 'MemberExpression' && parent.object === node) {
        const name = propertyName(parent);
        if (name === undefined) all = true;
        else names.add(name);
      } else {
        all = true;
      }
    });
  }
  return all ? 'all' : { names, callsSuper };
}

/** What `expression` opens, if it is one of the known openers. */
function resourceOf(context: Rule.RuleContext, expression: Node): Resource | undefined {
  const value = unwrap(expression);
  const opener = value && openerOf(context, value);
  if (opener) return opener;
  // createClient(…).on('error', …).connect(), setInterval(…).unref(), http.createServer(…).listen(…)
  if (value?.type === 'CallExpression' && value.callee.type === 'MemberExpression' && SAME_THING.includes(propertyName(value.callee) ?? '')) {
    return resourceOf(context, value.callee.object);
  }
  return undefined;
}

function openerOf(context: Rule.RuleContext, value: Node): Opener | undefined {
  if (value.type === 'NewExpression') {
    const callee = unwrap(value.callee);
    const name = callee?.type === 'Identifier' ? callee.name : callee?.type === 'MemberExpression' ? propertyName(callee) : undefined;
    if (name === undefined || !Object.hasOwn(CONSTRUCTORS, name)) return undefined;
    const opener = CONSTRUCTORS[name]!;
    const source = opener.sources || opener.notFrom ? calleeOrigin(context, value.callee)?.source : undefined;
    if (opener.sources && !opener.sources.includes(source)) return undefined;
    if (source !== undefined && opener.notFrom?.includes(source)) return undefined;
    return opener;
  }
  if (value.type === 'CallExpression') {
    const origin = calleeOrigin(context, value.callee);
    if (!origin || !Object.hasOwn(FACTORIES, origin.name)) return undefined;
    const opener = FACTORIES[origin.name]!;
    if (opener.sources ? !opener.sources.includes(origin.source) : origin.source === undefined) return undefined;
    return opener;
  }
  return undefined;
}
