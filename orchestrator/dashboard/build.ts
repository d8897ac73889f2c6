// Bundles the console (src/*.ts, plus the state lists it imports from protocol/) into
// public/app.js with esbuild. The bundle is committed, so serving needs no build step and no
// dev dependency; test/orchestrator/dashboard/bundle.test.ts fails when it is stale.
// Run: npm run build:console
import { build } from 'esbuild';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = fileURLToPath(new URL('.', import.meta.url));
/** Paths in the bundle's comments are relative to the repository: the same on every machine. */
const REPO = join(HERE, '..', '..');
export const CONSOLE_ENTRY = join(HERE, 'src', 'main.ts');
export const CONSOLE_BUNDLE = join(HERE, 'public', 'app.js');

const BANNER = '// GENERATED from orchestrator/dashboard/src/ by `npm run build:console` (esbuild). Do not edit.';

/** The bundle's text; deterministic for a given source tree and esbuild version. */
export async function bundleConsole(): Promise<string> {
  const result = await build({
    entryPoints: [CONSOLE_ENTRY],
    absWorkingDir: REPO,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    charset: 'utf8',
    legalComments: 'none',
    // Readable on purpose: the served file is what an operator's browser shows in devtools.
    minify: false,
    banner: { js: BANNER },
    write: false,
    logLevel: 'silent',
  });
  const [file] = result.outputFiles;
  if (!file) throw new Error('esbuild produced no output for the console');
  return file.text;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeFileSync(CONSOLE_BUNDLE, await bundleConsole());
  console.log(`wrote ${CONSOLE_BUNDLE}`);
}
