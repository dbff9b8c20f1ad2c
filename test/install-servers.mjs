// Installs the servers the end-to-end tests run on 127.0.0.1 (redis-server),
// from Debian's packages, when they are missing. Run by `npm test`; as root
// it installs, otherwise it says what to install and exits 1.
import { execFileSync, spawnSync } from 'node:child_process';

const needed = [{ binary: 'redis-server', debian: 'redis-server' }];
const has = (binary) => spawnSync('sh', ['-c', `command -v ${binary}`], { stdio: 'ignore' }).status === 0;
const missing = needed.filter(({ binary }) => !has(binary));
if (missing.length === 0) process.exit(0);

const packages = missing.map(({ debian }) => debian);
const root = typeof process.getuid === 'function' && process.getuid() === 0;
if (!root || !has('apt-get')) {
  console.error(
    `The end-to-end tests need ${missing.map(({ binary }) => binary).join(', ')} on this machine. ` +
      `Install it first: on Debian or Ubuntu \`sudo apt-get install -y ${packages.join(' ')}\`, on macOS \`brew install redis\`.`,
  );
  process.exit(1);
}
console.log(`Installing ${packages.join(', ')} from Debian's packages for the end-to-end tests...`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], { stdio: 'inherit', env });
// The package starts a system service on port 6379; the tests start their own servers and need none.
spawnSync('sh', ['-c', 'command -v service >/dev/null && service redis-server stop'], { stdio: 'ignore' });
