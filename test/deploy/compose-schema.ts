// The subset of the Compose specification (compose-spec.io) that docker-compose.yml uses, as
// strict zod schemas: a misspelt key (`depend_on`, `healtcheck`) or a wrong shape fails the test
// instead of being ignored by Docker at deploy time. Not a full Compose validator.
import { z } from 'zod';

const duration = z.string().regex(/^\d+(ms|s|m|h)$/, 'a Compose duration such as 10s');
const stringList = z.array(z.string().min(1)).min(1);

export const healthcheckSchema = z.union([
  z.strictObject({ disable: z.literal(true) }),
  z.strictObject({
    // Exec form only: no shell in between, so the check runs exactly what it says.
    test: z.tuple([z.literal('CMD')], z.string().min(1)),
    interval: duration,
    timeout: duration,
    start_period: duration.optional(),
    retries: z.number().int().min(1),
  }),
]);

const dependsOnSchema = z.record(
  z.string(),
  z.strictObject({ condition: z.enum(['service_started', 'service_healthy', 'service_completed_successfully']) }),
);

// [host_ip:]host_port[-range]:container_port
const portSchema = z.string().regex(/^(\d{1,3}(\.\d{1,3}){3}:)?(\d+|\$\{[A-Z0-9_]+(:-\d+)?\})(-\d+)?:\d+$/, 'a published port "host_ip:host_port:container_port"');

export const serviceSchema = z.strictObject({
  image: z.string().min(1).optional(),
  build: z.strictObject({ context: z.string().min(1), dockerfile: z.string().min(1) }).optional(),
  init: z.boolean().optional(),
  restart: z.enum(['no', 'always', 'on-failure', 'unless-stopped']).optional(),
  command: stringList.optional(),
  deploy: z.strictObject({ replicas: z.number().int().min(1) }).optional(),
  environment: z.record(z.string().regex(/^[A-Z][A-Z0-9_]*$/), z.string()).optional(),
  secrets: z.array(z.strictObject({ source: z.string().min(1), target: z.string().min(1) })).optional(),
  volumes: z.array(z.string().regex(/^[a-z0-9][a-z0-9_-]*:\/[^:]*$/, 'a named volume "name:/path"')).optional(),
  ports: z.array(portSchema).optional(),
  ulimits: z.record(z.string(), z.strictObject({ soft: z.number().int(), hard: z.number().int() })).optional(),
  healthcheck: healthcheckSchema.optional(),
  depends_on: dependsOnSchema.optional(),
});

export const composeSchema = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/),
  // Extension fields (x-*) hold the YAML anchors; their content is checked where it is merged.
  services: z.record(z.string().regex(/^[a-z0-9][a-z0-9_-]*$/), serviceSchema),
  secrets: z.record(z.string(), z.strictObject({ file: z.string().min(1) })).optional(),
  volumes: z.record(z.string(), z.null()).optional(),
}).catchall(z.unknown()).superRefine((value, ctx) => {
  for (const key of Object.keys(value)) {
    if (!['name', 'services', 'secrets', 'volumes'].includes(key) && !key.startsWith('x-')) ctx.addIssue({ code: 'custom', message: `unknown top-level key ${key}` });
  }
});

export type ComposeFile = z.infer<typeof composeSchema>;
export type ComposeService = z.infer<typeof serviceSchema>;

/**
 * Compose variable interpolation (compose-spec: Interpolation): ${VAR}, ${VAR:-default},
 * ${VAR-default}, ${VAR:?error}, ${VAR?error}; throws on a required variable that is missing.
 */
export function interpolate(text: string, vars: Record<string, string | undefined>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])([^}]*))?\}/g, (_, name: string, colon: string, kind: string | undefined, arg: string) => {
    const value = vars[name];
    const missing = value === undefined || (colon === ':' && value === '');
    if (!missing) return value;
    if (kind === '?') throw Object.assign(new Error(`${name}: ${arg}`), { code: 'ERR_COMPOSE_REQUIRED', variable: name });
    return kind === '-' ? arg : '';
  });
}
