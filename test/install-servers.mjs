// Installs the servers the end-to-end tests run on 127.0.0.1 (redis-server,
// rabbitmq-server, nats-server, mosquitto),
// and with --bench the benchmarks' HAProxy, from Debian's packages, when
// they are missing. Run by `npm test` and `npm run bench`; as root it
// installs, otherwise it says what to install and exits 1.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';

const needed = [
  { binary: 'redis-server', debian: 'redis-server', brew: 'redis' },
  { binary: 'rabbitmq-server', debian: 'rabbitmq-server', brew: 'rabbitmq' },
  { binary: 'nats-server', debian: 'nats-server', brew: 'nats-server' },
  { binary: 'mosquitto', debian: 'mosquitto', brew: 'mosquitto' },
];
if (process.argv.includes('--bench')) needed.push({ binary: 'haproxy', debian: 'haproxy', brew: 'haproxy' });
const has = (binary) => spawnSync('sh', ['-c', `command -v ${binary}`], { stdio: 'ignore' }).status === 0;
const missing = needed.filter(({ binary }) => !has(binary));
if (missing.length === 0) process.exit(0);

const packages = missing.map(({ debian }) => debian);
const root = typeof process.getuid === 'function' && process.getuid() === 0;
if (!root || !has('apt-get')) {
  console.error(
    `The end-to-end tests need ${missing.map(({ binary }) => binary).join(', ')} on this machine. ` +
      `Install it first: on Debian or Ubuntu \`sudo apt-get install -y ${packages.join(' ')}\`, on macOS \`brew install ${missing.map(({ brew }) => brew).join(' ')}\`.`,
  );
  process.exit(1);
}
console.log(`Installing ${packages.join(', ')} from Debian's packages for the end-to-end tests...`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
// The packages would start system services (redis on 6379, RabbitMQ with the system's epmd...): the tests
// start their own and need none, so invoke-rc.d is told not to start any during the install.
const policy = '/usr/sbin/policy-rc.d';
const ownPolicy = !existsSync(policy);
if (ownPolicy) writeFileSync(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
try {
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], { stdio: 'inherit', env });
} finally {
  if (ownPolicy) rmSync(policy, { force: true });
}
for (const { debian } of missing) spawnSync('sh', ['-c', `command -v service >/dev/null && service ${debian} stop`], { stdio: 'ignore' });
