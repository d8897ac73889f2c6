// docker-compose.yml, Dockerfile and .dockerignore, checked without Docker (it does not run on
// these machines): a strict schema of the Compose subset we use, the wiring between services,
// the env each service gets against our real config loaders, and the healthcheck commands run
// for real against a local HTTP server.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { BROKER_ENV, loadBrokerConfig } from '../../broker/index.js';
import { keyFileName } from '../../orchestrator/keys/key-set.js';
import { loadOrchestratorConfig } from '../../orchestrator/config.js';
import { composeSchema, interpolate, type ComposeFile, type ComposeService } from './compose-schema.js';
import { execForm, parseDockerfile } from './dockerfile.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (name: string) => readFileSync(join(ROOT, name), 'utf8');

const compose: ComposeFile = composeSchema.parse(parse(read('docker-compose.yml'), { merge: true }));
const services = compose.services;
const service = (name: string): ComposeService => {
  const found = services[name];
  if (!found) throw new Error(`no service ${name}`);
  return found;
};
const OURS = ['broker', 'orchestrator', 'device-sim'] as const;

/** What a user puts in .env (see the head of docker-compose.yml). */
const DOT_ENV = { FLEET_OPERATOR_TOKEN: 'operator-token-0123456789', FLEET_BROKER_SECRET: 'broker-secret-0123456789abcdef' };

function envOf(name: string, vars: Record<string, string | undefined> = DOT_ENV): Record<string, string> {
  return Object.fromEntries(Object.entries(service(name).environment ?? {}).map(([key, value]) => [key, interpolate(value, vars)]));
}

function flag(command: string[], name: string): string | undefined {
  const index = command.indexOf(name);
  return index >= 0 ? command[index + 1] : undefined;
}

/** Container ports a service publishes. */
function containerPorts(name: string): number[] {
  return (service(name).ports ?? []).map((port) => Number(port.split(':').at(-1)));
}

function healthTest(name: string): string[] {
  const check = service(name).healthcheck;
  if (!check || 'disable' in check) throw new Error(`${name} has no healthcheck`);
  return check.test;
}

describe('docker-compose.yml: services and wiring', () => {
  it('has exactly redis, broker, orchestrator and device-sim, all built from our Dockerfile but redis', () => {
    expect(Object.keys(services).sort()).toEqual(['broker', 'device-sim', 'orchestrator', 'redis']);
    for (const name of OURS) {
      expect(service(name).build).toEqual({ context: '.', dockerfile: 'Dockerfile' });
      expect(service(name).image).toBe(service('broker').image);
      // tini as PID 1: signals reach Node, zombies are reaped.
      expect(service(name).init).toBe(true);
    }
    expect(existsSync(join(ROOT, 'Dockerfile'))).toBe(true);
  });

  it('runs redis 7 with appendonly persistence on a volume, noeviction, and a redis-cli ping healthcheck', () => {
    const redis = service('redis');
    expect(redis.image).toBe('redis:7-alpine');
    const command = redis.command ?? [];
    expect(flag(command, '--appendonly')).toBe('yes');
    expect(flag(command, '--maxmemory-policy')).toBe('noeviction');
    expect(redis.volumes).toContain('redis-data:/data');
    expect(Object.keys(compose.volumes ?? {})).toContain('redis-data');
    expect(healthTest('redis')).toEqual(['CMD', 'redis-cli', 'ping']);
    // Loopback only, so `docker compose up -d redis` serves the host's default REDIS_URL.
    expect(redis.ports).toEqual(['127.0.0.1:${FLEET_REDIS_HOST_PORT:-6379}:6379']);
    expect(interpolate(redis.ports![0]!, {})).toBe('127.0.0.1:6379:6379');
  });

  it('gives each service its fleet-ota command', () => {
    expect(service('broker').command).toEqual(['broker']);
    expect(service('orchestrator').command).toEqual(['serve']);
    const sim = service('device-sim').command ?? [];
    expect(sim[0]).toBe('sim');
    expect(flag(sim, '--devices')).toBe('1000');
  });

  it('points every Redis user at the redis service', () => {
    for (const name of ['broker', 'orchestrator']) {
      const url = new URL(envOf(name).REDIS_URL ?? '');
      expect(url.protocol).toBe('redis:');
      expect(url.hostname).toBe('redis');
      expect(containerPorts('redis')).toContain(Number(url.port));
    }
  });

  it('runs two broker replicas clustered over Redis, listening on all interfaces, one host port each', () => {
    const broker = service('broker');
    const env = envOf('broker');
    expect(broker.deploy?.replicas).toBe(2);
    expect(env.FLEET_BROKER_CLUSTER).toBe('redis');
    expect(env.FLEET_BROKER_HOST).toBe('0.0.0.0');
    expect(env.FLEET_BROKER_PORT).toBe('1884');
    const [range] = (broker.ports ?? [])[0]!.split(':').slice(-2);
    const [low, high] = range!.split('-').map(Number);
    expect(high! - low! + 1).toBe(broker.deploy?.replicas);
    expect(containerPorts('broker')).toEqual([Number(env.FLEET_BROKER_PORT)]);
  });

  it('wires the orchestrator and the simulator to the broker and API by service name and configured port', () => {
    const brokerPort = envOf('broker').FLEET_BROKER_PORT;
    const orchestrator = envOf('orchestrator');
    const sim = service('device-sim').command ?? [];
    for (const text of [orchestrator.FLEET_BROKER_URL, flag(sim, '--broker')]) {
      const url = new URL(text ?? '');
      expect(url.protocol).toBe('mqtt:');
      expect(url.hostname).toBe('broker');
      expect(url.port).toBe(brokerPort);
    }
    const api = new URL(flag(sim, '--api') ?? '');
    expect(api.hostname).toBe('orchestrator');
    expect(api.port).toBe(orchestrator.FLEET_HTTP_PORT);
    expect(orchestrator.FLEET_HTTP_HOST).toBe('0.0.0.0');
    expect(containerPorts('orchestrator')).toEqual([Number(orchestrator.FLEET_HTTP_PORT)]);
    // Devices fetch artifacts from the public URL: inside the network, the service name.
    expect(new URL(orchestrator.FLEET_PUBLIC_URL ?? '').host).toBe(`orchestrator:${orchestrator.FLEET_HTTP_PORT}`);
  });

  it('hands the director key and the service accounts over as compose secrets, at the paths the env names', () => {
    const orchestrator = service('orchestrator');
    const directorTarget = orchestrator.secrets?.find((s) => s.source === 'director_key')?.target;
    expect(envOf('orchestrator').FLEET_DIRECTOR_KEY).toBe(`/run/secrets/${directorTarget}`);
    const broker = service('broker');
    const accountsTarget = broker.secrets?.find((s) => s.source === 'broker_service_accounts')?.target;
    expect(envOf('broker').FLEET_BROKER_SERVICE_ACCOUNTS_FILE).toBe(`/run/secrets/${accountsTarget}`);
    // The director key file is the one `fleet-ota keys init --dir .fleet-ota/keys` writes.
    expect(interpolate(compose.secrets?.director_key?.file ?? '', {})).toBe(`./.fleet-ota/keys/${keyFileName('director', 1)}`);
    expect(interpolate(compose.secrets?.broker_service_accounts?.file ?? '', {})).toBe('./.fleet-ota/compose/service-accounts.json');
  });

  it('never holds a secret literally: tokens and broker secrets come from the environment (.env), required', () => {
    const secretish = /TOKEN|SECRET$/;
    for (const name of OURS) {
      for (const [key, value] of Object.entries(service(name).environment ?? {})) {
        if (secretish.test(key)) expect(value, `${name}.${key}`).toMatch(/^\$\{[A-Z_]+(:?[-?][^}]*)?\}$/);
      }
    }
    for (const missing of ['FLEET_OPERATOR_TOKEN', 'FLEET_BROKER_SECRET']) {
      const vars = { ...DOT_ENV, [missing]: undefined };
      expect(() => envOf('orchestrator', vars)).toThrow(expect.objectContaining({ code: 'ERR_COMPOSE_REQUIRED', variable: missing }));
    }
  });

  it('starts each service only after what it needs is healthy, and every such dependency has a healthcheck', () => {
    expect(service('broker').depends_on).toEqual({ redis: { condition: 'service_healthy' } });
    expect(service('orchestrator').depends_on).toEqual({ redis: { condition: 'service_healthy' }, broker: { condition: 'service_healthy' } });
    expect(service('device-sim').depends_on).toEqual({ broker: { condition: 'service_healthy' }, orchestrator: { condition: 'service_healthy' } });
    for (const name of Object.keys(services)) {
      for (const [dependency, { condition }] of Object.entries(service(name).depends_on ?? {})) {
        expect(services[dependency], `${name} -> ${dependency}`).toBeDefined();
        if (condition === 'service_healthy') expect(healthTest(dependency).length).toBeGreaterThan(1);
      }
    }
  });

  it('probes readiness where it means something: /readyz, the broker /healthz on its metrics port, none for the simulator', () => {
    expect(healthTest('orchestrator').join(' ')).toContain(`http://127.0.0.1:${envOf('orchestrator').FLEET_HTTP_PORT}/readyz`);
    expect(healthTest('broker').join(' ')).toContain(`http://127.0.0.1:${envOf('broker').FLEET_BROKER_METRICS_PORT}/healthz`);
    // The broker's metrics server binds FLEET_BROKER_METRICS_HOST; the check reaches it on loopback.
    expect(['0.0.0.0', '127.0.0.1']).toContain(envOf('broker').FLEET_BROKER_METRICS_HOST);
    expect(service('device-sim').healthcheck).toEqual({ disable: true });
  });

  it('raises the open-file limit where thousands of MQTT connections live', () => {
    for (const name of ['broker', 'device-sim']) expect(service(name).ulimits?.nofile?.soft).toBeGreaterThanOrEqual(20_000);
  });
});

describe('docker-compose.yml: env against our config loaders', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'fleet-compose-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** The broker env with the secret file path pointing at a real file of the documented shape. */
  function brokerEnv(): Record<string, string> {
    const accounts = join(dir, 'service-accounts.json');
    writeFileSync(accounts, JSON.stringify([{ username: 'orchestrator', secretSha256: 'a'.repeat(64), role: 'orchestrator' }]));
    return { ...envOf('broker'), FLEET_BROKER_SERVICE_ACCOUNTS_FILE: accounts };
  }

  it('the broker loader knows every variable compose sets for the broker, and accepts them', () => {
    const known = new Set<string>(Object.values(BROKER_ENV));
    for (const key of Object.keys(envOf('broker'))) expect(known.has(key), key).toBe(true);
    const config = loadBrokerConfig(brokerEnv());
    expect(config).toMatchObject({ host: '0.0.0.0', port: 1884, redisUrl: 'redis://redis:6379', cluster: 'redis', metricsPort: 9464, metricsHost: '0.0.0.0' });
    expect(config.limits.connectsPerIpPerSec).toBe(0);
    expect(config.serviceAccounts.map((a) => a.username)).toEqual([envOf('orchestrator').FLEET_BROKER_USERNAME]);
  });

  it('the orchestrator loader accepts what compose sets, with the service hostnames', () => {
    const env = envOf('orchestrator');
    const config = loadOrchestratorConfig(env);
    expect(config).toMatchObject({
      redisUrl: 'redis://redis:6379',
      httpHost: '0.0.0.0',
      httpPort: 8080,
      publicUrl: 'http://orchestrator:8080',
      dataDir: '/var/lib/fleet-ota',
      directorKeyPath: '/run/secrets/director.key',
      brokerUrl: 'mqtt://broker:1884',
      brokerUsername: 'orchestrator',
      brokerSecret: DOT_ENV.FLEET_BROKER_SECRET,
      operatorToken: DOT_ENV.FLEET_OPERATOR_TOKEN,
      readonlyToken: undefined,
    });
    // A deployment sets its own public URL (e.g. behind a proxy).
    expect(loadOrchestratorConfig(envOf('orchestrator', { ...DOT_ENV, FLEET_PUBLIC_URL: 'https://ota.example.com' })).publicUrl).toBe('https://ota.example.com');
  });

  it.each([
    ['broker', () => brokerEnv(), (env: Record<string, string>) => loadBrokerConfig(env)],
    ['orchestrator', () => envOf('orchestrator'), (env: Record<string, string>) => loadOrchestratorConfig(env)],
  ] as const)('every variable compose sets for the %s is read by its loader (changing it changes the config or is refused)', (_name, base, load) => {
    // The orchestrator's schema ignores unknown variables, so "accepted" alone would not catch a typo.
    const env = base();
    const reference = JSON.stringify(load(env));
    for (const key of Object.keys(env)) {
      let changed: boolean;
      try {
        changed = JSON.stringify(load({ ...env, [key]: 'zz-probe' })) !== reference;
      } catch (error) {
        changed = (error as { code?: string }).code === 'invalid_configuration';
      }
      expect(changed, `${key} is not read by the loader`).toBe(true);
    }
  });

  it('the simulator gets only the operator token, which `fleet-ota sim` reads as the default of --token', () => {
    // The sim command has no exported env loader: it reads the variable directly.
    expect(Object.keys(envOf('device-sim'))).toEqual(['FLEET_OPERATOR_TOKEN']);
    expect(envOf('device-sim').FLEET_OPERATOR_TOKEN).toBe(envOf('orchestrator').FLEET_OPERATOR_TOKEN);
    expect(read('launcher/commands/sim.ts')).toContain('process.env.FLEET_OPERATOR_TOKEN');
  });
});

/** The program with every command group under launcher/commands registered, as main.ts does. */
async function cliProgram(): Promise<Command> {
  const program = new Command('fleet-ota').enablePositionalOptions();
  const folder = join(ROOT, 'launcher/commands');
  for (const file of readdirSync(folder).filter((f) => f.endsWith('.ts')).sort()) {
    const module = (await import(pathToFileURL(join(folder, file)).href)) as Record<string, unknown>;
    for (const [name, value] of Object.entries(module)) {
      if (/^register\w*Commands$/.test(name) && typeof value === 'function') (value as (p: Command) => void)(program);
    }
  }
  return program;
}
const program = await cliProgram();

describe('docker-compose.yml: commands against the real CLI', () => {
  // A command still being built elsewhere is reported as skipped until its module registers it.
  it.for(OURS.map((name) => [name, service(name).command?.[0] ?? ''] as const))('%s runs `%s` with options the command defines', ([name, command], context) => {
    const cmd = program.commands.find((c) => c.name() === command);
    if (!cmd) return context.skip(`fleet-ota ${command} is not registered yet`);
    const known = new Set(cmd.options.map((o) => o.long));
    for (const arg of service(name).command!.slice(1).filter((a) => a.startsWith('--'))) expect(known.has(arg), `${command} ${arg}`).toBe(true);
  });
});

describe('Dockerfile and .dockerignore', () => {
  const dockerfile = parseDockerfile(read('Dockerfile'));
  const stage = (name: string) => {
    const found = dockerfile.stages.find((s) => s.name === name);
    if (!found) throw new Error(`no stage ${name}`);
    return found;
  };
  const runs = (name: string) => stage(name).instructions.filter((i) => i.op === 'RUN').map((i) => i.args);
  const runtime = dockerfile.stages.at(-1)!;

  it('builds in stages: deps (npm ci), build (npm run build), prod-deps (npm ci --omit=dev), runtime last', () => {
    expect(dockerfile.stages.map((s) => s.name)).toEqual(['deps', 'build', 'prod-deps', 'runtime']);
    expect(runs('deps').join(' ')).toMatch(/\bnpm ci\b/);
    expect(stage('build').from).toBe('deps');
    expect(runs('build').join(' ')).toMatch(/\bnpm run build\b/);
    expect(runs('prod-deps').join(' ')).toMatch(/\bnpm ci --omit=dev\b/);
    // Every stage starts from the same pinned Node major, matching package.json engines.
    const nodeVersion = dockerfile.args.find((a) => a.args.startsWith('NODE_VERSION='))?.args.split('=')[1];
    const engines = (JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node;
    expect(engines).toBe(`>=${nodeVersion}`);
    for (const s of dockerfile.stages.filter((s) => s.name !== 'build')) expect(s.from).toBe('node:${NODE_VERSION}-bookworm-slim');
  });

  it('ships production dependencies only, the compiled dist/ and the launcher', () => {
    const copies = runtime.instructions.filter((i) => i.op === 'COPY').map((i) => i.args);
    expect(copies).toContain('--from=prod-deps /app/node_modules ./node_modules');
    expect(copies).toContain('--from=build /app/dist ./dist');
    expect(copies.some((c) => c.includes('--from=deps'))).toBe(false);
    // package.json carries "type": "module", without which dist/*.js would not load as ESM.
    expect(copies.some((c) => /^package\.json\b/.test(c))).toBe(true);
    // The launcher falls back to tsx when dist/ is missing: tsx must be a production dependency.
    const pkg = JSON.parse(read('package.json')) as { dependencies: Record<string, string> };
    expect(pkg.dependencies.tsx).toBeDefined();
    expect(execForm(runtime.instructions.find((i) => i.op === 'ENTRYPOINT')!.args)).toEqual(['node', 'launcher/fleet-ota.js']);
    expect(execForm(runtime.instructions.find((i) => i.op === 'CMD')!.args)).toEqual(['serve']);
    // The launcher's compiled target matches where the build stage puts main.js.
    expect(read('launcher/fleet-ota.js')).toContain('../dist/launcher/main.js');
    expect(JSON.parse(read('tsconfig.json')).compilerOptions).toMatchObject({ outDir: 'dist', rootDir: '.' });
  });

  it('copies only sources that exist', () => {
    for (const s of dockerfile.stages) {
      for (const copy of s.instructions.filter((i) => i.op === 'COPY' && !i.args.includes('--from='))) {
        const parts = copy.args.replace(/--chown=\S+\s*/, '').split(' ');
        for (const source of parts.slice(0, -1)) expect(existsSync(join(ROOT, source)), source).toBe(true);
      }
    }
  });

  it('runs as a non-root user in the final stage', () => {
    const users = runtime.instructions.filter((i) => i.op === 'USER').map((i) => i.args);
    expect(users.length).toBeGreaterThan(0);
    expect(['root', '0', '0:0', 'root:root']).not.toContain(users.at(-1));
    // Instructions after the last USER run as that user, so the writable data folder is made before it.
    const userIndex = runtime.instructions.findLastIndex((i) => i.op === 'USER');
    const chown = runtime.instructions.findIndex((i) => i.op === 'RUN' && i.args.includes(`chown ${users.at(-1)}`));
    expect(chown).toBeGreaterThanOrEqual(0);
    expect(chown).toBeLessThan(userIndex);
  });

  it('keeps secrets, local state and host builds out of the build context', () => {
    const ignored = read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    for (const pattern of ['node_modules', 'dist', '.git', '.env', '.env.*', '.fleet-ota', '**/*.key']) expect(ignored).toContain(pattern);
  });
});

describe('healthcheck commands, run for real', () => {
  let server: Server;
  let port: number;
  let status = 200;
  const paths: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      paths.push(req.url ?? '');
      res.writeHead(status).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  /** Runs a `CMD node -e <script>` check with its port swapped for our server's; resolves its exit code. */
  function run(test: string[], env: Record<string, string> = {}, targetPort = port): Promise<number | null> {
    expect(test.slice(0, 3)).toEqual(['CMD', 'node', '-e']);
    const script = test[3]!.replace(/127\.0\.0\.1:\d+/, `127.0.0.1:${targetPort}`);
    // Asynchronous: the server answering the check lives in this process.
    const child = spawn(process.execPath, ['-e', script], { env: { ...process.env, ...env }, stdio: 'ignore', timeout: 10_000 });
    return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  async function closedPort(): Promise<number> {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const closed = (probe.address() as { port: number }).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    return closed;
  }

  it.each(['orchestrator', 'broker'])('the %s check passes on 200, fails on 503 and on a closed port', async (name) => {
    const test = healthTest(name);
    status = 200;
    expect(await run(test)).toBe(0);
    expect(paths.at(-1)).toBe(name === 'orchestrator' ? '/readyz' : '/healthz');
    status = 503;
    expect(await run(test)).toBe(1);
    expect(await run(test, {}, await closedPort())).toBe(1);
  });

  it("the image's default check (for `serve`) follows FLEET_HTTP_PORT to /readyz", async () => {
    const dockerfile = parseDockerfile(read('Dockerfile'));
    const check = dockerfile.stages.at(-1)!.instructions.find((i) => i.op === 'HEALTHCHECK');
    expect(check?.args).toMatch(/--interval=\d+s/);
    const test = ['CMD', ...execForm(check!.args.slice(check!.args.indexOf('CMD') + 3))];
    status = 200;
    expect(await run(test, { FLEET_HTTP_PORT: String(port) })).toBe(0);
    expect(paths.at(-1)).toBe('/readyz');
    status = 503;
    expect(await run(test, { FLEET_HTTP_PORT: String(port) })).toBe(1);
    expect(await run(test, { FLEET_HTTP_PORT: String(await closedPort()) })).toBe(1);
  });
});
