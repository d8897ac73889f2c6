// The served console (public/app.js) is the committed esbuild bundle of src/: it must be what
// `npm run build:console` makes from the sources as they are, and carry protocol's state list
// rather than a copy of it.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bundleConsole, CONSOLE_BUNDLE } from '../../../orchestrator/dashboard/build.js';
import { DEVICE_STATES } from '../../../protocol/states.js';

describe('console bundle', () => {
  it('is up to date with orchestrator/dashboard/src (run `npm run build:console` when this fails)', async () => {
    const committed = readFileSync(CONSOLE_BUNDLE, 'utf8');
    expect(committed === (await bundleConsole())).toBe(true);
  });

  it('takes the device states from protocol/states.ts, once', () => {
    const committed = readFileSync(CONSOLE_BUNDLE, 'utf8');
    expect(committed).toContain('// protocol/states.ts');
    // The list is written out once (in protocol's module), not copied into the console's code.
    expect(committed.split(`"${DEVICE_STATES[3]}",`).length - 1).toBe(1);
  });
});
