// Lint rules: typescript-eslint recommended, plus the boundaries that keep the architecture honest.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const ioModules = [
  'fs', 'node:fs', 'fs/promises', 'node:fs/promises', 'net', 'node:net', 'http', 'node:http',
  'https', 'node:https', 'http2', 'node:http2', 'dgram', 'node:dgram', 'tls', 'node:tls',
  'child_process', 'node:child_process', 'worker_threads', 'node:worker_threads', 'os', 'node:os',
  'process', 'node:process', 'mqtt', 'aedes', 'ioredis', 'bullmq', 'fastify', 'pino',
];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'orchestrator/dashboard/public/**', 'bench/results/**', 'test/artifacts/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { URL: 'readonly', process: 'readonly', console: 'readonly', Buffer: 'readonly', fetch: 'readonly', document: 'readonly', window: 'readonly' } },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // protocol/ is the pure contract shared by devices and servers: no I/O, no clock, no other folder.
    files: ['protocol/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: [
          ...ioModules.map((name) => ({ name, message: 'protocol/ is pure: no I/O imports.' })),
          ...['crypto', 'buffer', 'path', 'url', 'util', 'stream', 'events'].map((name) => ({ name, message: 'protocol/ runs on non-Node devices: no Node built-ins.' })),
        ],
        patterns: [
          { group: ['../broker/*', '../orchestrator/*', '../device-sim/*', '../node-crypto/*', '**/broker/**', '**/orchestrator/**', '**/device-sim/**', '**/node-crypto/**', '**/api-client/**'], message: 'protocol/ imports nothing from the other parts.' },
          // Devices run protocol/ outside Node: the node:crypto backend lives in node-crypto/.
          { group: ['node:*'], message: 'protocol/ runs on non-Node devices: no Node built-ins.' },
        ],
      }],
      'no-restricted-properties': ['error',
        { object: 'Date', property: 'now', message: 'protocol/ takes time as an argument.' },
        { object: 'Math', property: 'random', message: 'protocol/ is deterministic.' }],
      'no-restricted-globals': ['error',
        { name: 'fetch', message: 'protocol/ is pure: no I/O.' },
        { name: 'process', message: 'protocol/ is pure: no environment.' }],
    },
  },
  {
    // The device side and the server side share only protocol/.
    files: ['device-sim/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/orchestrator/**', '**/broker/**', '**/state/**', '**/launcher/**'], message: 'device-sim shares only protocol/ with the server side.' }] }],
    },
  },
  {
    // The API client is what every caller of the HTTP API shares (CLI, demo, simulator, tests,
    // benchmarks): it speaks HTTP and imports only protocol/ types, never server code, so
    // device-sim may use it.
    files: ['api-client/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['**/orchestrator/**', '**/broker/**', '**/state/**', '**/runtime/**', '**/launcher/**', '**/device-sim/**', '**/node-crypto/**'], message: 'api-client/ talks HTTP and imports only protocol/: no server code.' },
        { group: ['ioredis', 'bullmq', 'fastify', 'aedes', 'mqtt', 'pino'], message: 'api-client/ talks HTTP and imports only protocol/: no server code.' },
      ] }],
    },
  },
  {
    files: ['broker/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['**/device-sim/**'], message: 'the broker shares only protocol/ with devices.' },
        { group: ['**/orchestrator/**', '**/launcher/**'], message: 'the broker reaches Redis through state/ and shares process plumbing through runtime/, never the orchestrator.' },
      ] }],
    },
  },
  {
    // state/ is the Redis boundary and runtime/ the process plumbing: both sit below the roles.
    files: ['state/**/*.ts', 'runtime/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/orchestrator/**', '**/broker/**', '**/launcher/**', '**/device-sim/**'], message: 'state/ and runtime/ sit below the roles and import none of them.' }] }],
    },
  },
  {
    // The orchestrator is a service: the CLI and the demo (launcher/) compose it with the broker and the simulator, never the reverse.
    files: ['orchestrator/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/broker/**', '**/device-sim/**', '**/launcher/**'], message: 'orchestrator/ imports no other role: launcher/ composes them.' }] }],
    },
  },
);
