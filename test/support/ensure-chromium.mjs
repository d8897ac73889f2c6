#!/usr/bin/env node
// Before the suite: the dashboard's browser test drives Debian's Chromium (/usr/bin/chromium).
// On a fresh Debian/Ubuntu machine where we are root, install it; otherwise say how.
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const CHROMIUM = '/usr/bin/chromium';
if (!existsSync(CHROMIUM)) {
  const canInstall = process.getuid?.() === 0 && existsSync('/usr/bin/apt-get');
  if (!canInstall) {
    console.error(`fleet-ota tests: ${CHROMIUM} is missing. Install Debian's Chromium (sudo apt-get install -y chromium) and run the tests again.`);
    process.exit(1);
  }
  console.error('fleet-ota tests: installing Debian\'s chromium for the dashboard browser test (apt-get)...');
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'chromium'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}
