import { z } from 'zod';
import { formatDuration } from './domain/duration.js';

/**
 * Every setting the system reads from the environment, with its default and its meaning.
 * `describe()` texts are the documentation: the README table and `.env.example` are generated from them
 * (`npm run config:doc`), and a test keeps them in step.
 */
const booleanFlag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const durationMs = z
  .string()
  .regex(/^\d+(ms|s|m|h|d)$/, 'a duration such as "500ms", "5s", "2h"')
  .transform((v) => {
    const match = /^(\d+)(ms|s|m|h|d)$/.exec(v)!;
    const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 'ms'];
    return Number(match[1]) * unit;
  });

export const ConfigSchema = z.object({
  DATABASE_URL: z
    .url()
    .default('postgres://postgres@127.0.0.1:5432/affiliate_hooks')
    .describe('PostgreSQL connection string. The database is created on `migrate` if it does not exist.'),
  DATABASE_POOL_SIZE: z.coerce
    .number()
    .int()
    .min(1)
    .max(200)
    .default(10)
    .describe('Maximum connections each process keeps to PostgreSQL.'),
  TEMPORAL_ADDRESS: z
    .string()
    .min(1)
    .default('127.0.0.1:7233')
    .describe('host:port of the Temporal frontend (gRPC).'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default').describe('Temporal namespace for all workflows.'),
  TEMPORAL_TASK_QUEUE: z
    .string()
    .min(1)
    .default('affiliate-hooks')
    .describe('Task queue the worker polls and the API starts workflows on.'),
  TEMPORAL_UI_URL: z
    .url()
    .default('http://127.0.0.1:8233')
    .describe('Base URL of the Temporal Web UI, used to print links to workflows.'),
  TEMPORAL_START_TIMEOUT: durationMs
    .default(5_000)
    .describe('How long the API waits for Temporal to start a workflow before answering 503.'),
  TEMPORAL_WORKFLOW_BUNDLE: z
    .string()
    .optional()
    .describe(
      'Path to a prebuilt workflow bundle (`npm run build` writes dist/workflow-bundle.js); unset, workers bundle workflows/ at start.',
    ),
  HOST: z.string().default('127.0.0.1').describe('Interface the API listens on (`0.0.0.0` in containers).'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000).describe('Port the API listens on.'),
  ADMIN_TOKEN: z
    .string()
    .min(24, 'must be at least 24 characters')
    .describe('Bearer token for `POST /v1/operators`. Required; keep it secret.'),
  SECRETS_ENCRYPTION_KEYS: z
    .string()
    .min(1)
    .transform((v) =>
      v
        .split(',')
        .map((k) => k.trim())
        .filter(Boolean),
    )
    .describe(
      'Comma-separated base64 AES-256 keys (32 bytes each) that encrypt endpoint secrets at rest. The first encrypts; all decrypt, so a new key goes first and the old stays until rows are re-sealed. Required.',
    ),
  SECRET_ROTATION_GRACE: durationMs
    .default(86_400_000)
    .describe(
      'How long a rotated-out endpoint or source secret stays live beside the new one (at most 3 live: a further rotation ends the oldest early).',
    ),
  SSRF_ALLOWLIST: z
    .string()
    .transform((v) =>
      v
        .split(',')
        .map((c) => c.trim())
        .filter(Boolean),
    )
    .default([])
    .describe(
      'Comma-separated CIDRs that deliveries may reach although private, loopback or reserved (e.g. `127.0.0.0/8,::1/128` for local receivers). Empty: only public addresses.',
    ),
  HTTPS_ONLY: booleanFlag.default(false).describe('Refuse endpoint URLs that are not https.'),
  DELIVERY_TIMEOUT: durationMs
    .default(15_000)
    .describe("Default time an endpoint has to answer one attempt (an endpoint's own `timeout` wins)."),
  ENDPOINT_DISABLE_AFTER: durationMs
    .default(5 * 86_400_000)
    .describe('An endpoint whose attempts have only failed for this long is disabled (`endpoint.disabled`).'),
  DELIVERY_FAILING_AFTER_ATTEMPTS: z.coerce
    .number()
    .int()
    .min(1)
    .default(4)
    .describe('After this many failed attempts of one delivery, `delivery.failing` is emitted.'),
  MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(256 * 1024)
    .describe('Largest request body accepted, in bytes; larger bodies get `413 payload_too_large`.'),
  API_EMBEDDED_WORKER: booleanFlag
    .default(true)
    .describe(
      'Run a Temporal worker inside the API process and start workflows eagerly (saves a round trip per event).',
    ),
  RECONCILE_INTERVAL: durationMs
    .default(5_000)
    .describe(
      'How often the worker looks for recorded events whose workflow start was not confirmed, and starts them.',
    ),
  RECONCILE_GRACE: durationMs
    .default(5_000)
    .describe('How old an unconfirmed event must be before the reconciler takes it over from the API.'),
  SHUTDOWN_GRACE: durationMs
    .default(30_000)
    .describe('How long SIGTERM waits for in-flight requests and activities before exiting.'),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info')
    .describe('pino log level.'),
});

export type Config = z.infer<typeof ConfigSchema>;

/** Thrown with every problem in the environment at once, so an operator fixes them in one go. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Reads and validates the environment; reports all problems together. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const input: Record<string, string> = {};
  for (const key of Object.keys(ConfigSchema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') input[key] = value;
  }
  const parsed = ConfigSchema.safeParse(input);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`));
  }
  return parsed.data;
}

/** One row per setting, for documentation: name, default (as written in the environment), description. */
export function describeConfig(): {
  key: string;
  default: string | undefined;
  required: boolean;
  description: string;
}[] {
  return Object.entries(ConfigSchema.shape).map(([key, schema]) => {
    const def = (schema as z.ZodType).def as { type: string; defaultValue?: unknown };
    let defaultValue: string | undefined;
    if (def.type === 'default') {
      const raw = def.defaultValue;
      defaultValue = typeof raw === 'boolean' ? String(raw) : formatDefault(key, raw);
    }
    const required = def.type !== 'default' && def.type !== 'optional';
    return { key, default: defaultValue, required, description: schema.description ?? '' };
  });
}

function formatDefault(key: string, raw: unknown): string {
  if (Array.isArray(raw)) return raw.join(',');
  if (typeof raw === 'number' && /(INTERVAL|GRACE|TIMEOUT|AFTER)$/.test(key)) return formatDuration(raw);
  return String(raw);
}
