#!/usr/bin/env node
// Before the suite: the metrics tests run the real `promtool check metrics` (Prometheus' own
// linter) on the broker's and the orchestrator's /metrics. Debian's `prometheus` package ships
// promtool; installing that package would also start a Prometheus server, so its .deb is only
// downloaded and promtool extracted into .fleet-ota/tools/ (git-ignored). A promtool already on
// the PATH, or named by PROMTOOL, is used as it is.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const LOCAL_PROMTOOL = join(root, '.fleet-ota/tools/promtool');

function onPath(name) {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

if (!process.env.PROMTOOL && !existsSync(LOCAL_PROMTOOL) && !onPath('promtool')) {
  if (!existsSync('/usr/bin/apt-get') || !existsSync('/usr/bin/dpkg-deb')) {
    console.error('fleet-ota tests: promtool is missing. Install Prometheus\' promtool (Debian: the prometheus package) or set PROMTOOL, and run the tests again.');
    process.exit(1);
  }
  console.error('fleet-ota tests: fetching Debian\'s prometheus package for promtool (apt-get download, nothing installed)...');
  const work = mkdtempSync(join(tmpdir(), 'fleet-ota-promtool-'));
  try {
    const download = () => execFileSync('apt-get', ['download', '-qq', 'prometheus'], { cwd: work, stdio: ['ignore', 'ignore', 'inherit'] });
    try {
      download();
    } catch {
      // A fresh machine may have no package lists yet.
      if (process.getuid?.() !== 0) throw new Error('apt-get download failed; run apt-get update (as root) first');
      execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
      download();
    }
    const deb = readdirSync(work).find((f) => f.startsWith('prometheus_') && f.endsWith('.deb'));
    if (!deb) throw new Error('apt-get download left no prometheus .deb');
    execFileSync('dpkg-deb', ['-x', join(work, deb), join(work, 'x')]);
    mkdirSync(dirname(LOCAL_PROMTOOL), { recursive: true });
    copyFileSync(join(work, 'x/usr/bin/promtool'), LOCAL_PROMTOOL);
    execFileSync('chmod', ['0755', LOCAL_PROMTOOL]);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
