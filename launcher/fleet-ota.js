#!/usr/bin/env node
// Launcher: runs the compiled CLI when `npm run build` produced dist/, else the TypeScript
// sources through tsx (development, CI, the README's commands).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const compiled = fileURLToPath(new URL('../dist/launcher/main.js', import.meta.url));
if (existsSync(compiled)) {
  await import(pathToFileURL(compiled).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('./main.ts');
}
