#!/usr/bin/env node
// Before the suite: Debian packages the tests drive as real processes. Chromium (/usr/bin/chromium)
// for the console's browser test, Mosquitto (/usr/sbin/mosquitto) for the standard-broker
// deployment tests. On a fresh Debian/Ubuntu machine where we are root, install what is missing;
// otherwise say how.
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const PACKAGES = [
  { name: 'chromium', binary: '/usr/bin/chromium', why: 'the console browser test' },
  { name: 'mosquitto', binary: '/usr/sbin/mosquitto', why: 'the Mosquitto deployment tests' },
];

const missing = PACKAGES.filter((p) => !existsSync(p.binary));
if (missing.length > 0) {
  const names = missing.map((p) => p.name);
  const canInstall = process.getuid?.() === 0 && existsSync('/usr/bin/apt-get');
  if (!canInstall) {
    console.error(`fleet-ota tests: ${missing.map((p) => `${p.binary} (${p.why})`).join(' and ')} missing. Install Debian's ${names.join(' ')} (sudo apt-get install -y ${names.join(' ')}) and run the tests again.`);
    process.exit(1);
  }
  console.error(`fleet-ota tests: installing Debian's ${names.join(', ')} (apt-get)...`);
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...names], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}
