import { z } from 'zod';
import { cidrProblem } from './cidr.js';
import { booleanFlag } from './config/boolean-flag.js';
import { BREAKER_CONFIG, BREAKER_KEYS } from './config/breaker.js';
import { API_WORKER_TUNING_KEYS, WORKER_TUNING_CONFIG, WORKER_TUNING_KEYS } from './config/worker-tuning.js';
import { durationMs } from './config/durations.js';
import { fxSettings } from './config/fx.js';
import { RETENTION_KEYS, RETENTION_SETTINGS, retentionProblems } from './config/retention.js';
import { formatDuration } from './domain/duration.js';
import { encryptionKeyProblem } from './encryption-key.js';
import { pemProblem } from './pem.js';

/**
 * Every setting the system reads from the environment, with its default and its meaning.
 * `describe()` texts are the documentation: the README table and `.env.example` are generated from them
 * (`npm run config:doc`), and a test keeps them in step.
 */
const commaList = (v: string) =>
  v
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);

/** Inline PEM or a readable PEM file (src/pem.ts). */
const pem = z
  .string()
  .min(1)
  .superRefine((v, ctx) => {
    const problem = pemProblem(v);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/** A TCP port to listen on (1-65535). */
const listenPort = z.coerce.number().int().min(1).max(65535);

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
  TEMPORAL_API_KEY: z
    .string()
    .min(1)
    .optional()
    .describe('Temporal Cloud API key (sent as a bearer token over TLS); keep it secret. Unset: no API key.'),
  TEMPORAL_TLS: booleanFlag
    .optional()
    .describe(
      'TLS to the Temporal frontend. Unset: on when a certificate, CA, server name or API key is set, else off.',
    ),
  TEMPORAL_TLS_CERT: pem
    .optional()
    .describe('Client certificate for mTLS (Temporal Cloud, a secured cluster).'),
  TEMPORAL_TLS_KEY: pem.optional().describe("The client certificate's private key; keep it secret."),
  TEMPORAL_TLS_CA: pem
    .optional()
    .describe("CA of the server's certificate, when the system's trusted roots do not include it."),
  TEMPORAL_TLS_SERVER_NAME: z
    .string()
    .min(1)
    .optional()
    .describe("Name the server's certificate is checked against, when not the host of TEMPORAL_ADDRESS."),
  TEMPORAL_TASK_QUEUE: z
    .string()
    .min(1)
    .default('affiliate-hooks')
    .describe('Task queue the worker polls and the API starts workflows on.'),
  TEMPORAL_UI_URL: z
    .url()
    .default('http://127.0.0.1:8233')
    .describe(
      "Base URL of the Temporal Web UI, used to print links to workflows and by the console's links to them.",
    ),
  TEMPORAL_START_TIMEOUT: durationMs
    .default(5_000)
    .describe('How long the API waits for Temporal to start a workflow before answering 503.'),
  TEMPORAL_WORKFLOW_BUNDLE: z
    .string()
    .optional()
    .describe(
      'Path to a prebuilt workflow bundle (`npm run build` writes dist/workflow-bundle.js); unset, workers bundle workflows/ at start.',
    ),
  HOST: z
    .string()
    .default('127.0.0.1')
    .describe("Interface the API, and the worker's metrics ports, listen on (`0.0.0.0` in containers)."),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000).describe('Port the API listens on.'),
  WORKER_METRICS_PORT: listenPort
    .optional()
    .describe(
      'Port on HOST where the worker serves `GET /metrics` (Prometheus; the API serves it on PORT). Unset: no worker metrics port.',
    ),
  TEMPORAL_METRICS_PORT: listenPort
    .optional()
    .describe(
      "Port on HOST where the worker process exports the Temporal SDK's own worker metrics (Prometheus, `/metrics`, `temporal_*` names) through its Runtime. Read by the worker only (not the API's embedded worker, so the two never compete for it). Unset: not exported.",
    ),
  TEMPORAL_SERVER_METRICS_PORT: listenPort
    .optional()
    .describe(
      "Port where the Temporal server started by `npm run temporal` or `npm run dev` serves its own Prometheus `/metrics` (the dev server's `--metrics-port`; with `--temporal=postgres`, the full server's `global.metrics.prometheus`). Unset: a random port (dev server), 8000 (postgres).",
    ),
  ADMIN_TOKEN: z
    .string()
    .min(24, 'must be at least 24 characters')
    .describe('Bearer token for `POST /v1/operators`. Required; keep it secret.'),
  SECRETS_ENCRYPTION_KEYS: z
    .string()
    .min(1)
    .transform(commaList)
    .superRefine((keys, ctx) => {
      // Checked here, at start, not when the first secret is sealed; a key itself is never printed.
      if (keys.length === 0) ctx.addIssue({ code: 'custom', message: 'at least one key is required' });
      keys.forEach((key, i) => {
        const where = `key ${i + 1} of ${keys.length}`;
        const problem = encryptionKeyProblem(key);
        if (problem) ctx.addIssue({ code: 'custom', message: `${where} ${problem}` });
        const first = keys.indexOf(key);
        if (!problem && first < i)
          ctx.addIssue({ code: 'custom', message: `${where} repeats key ${first + 1}` });
      });
    })
    .describe(
      'Comma-separated base64 AES-256 keys (32 bytes each, e.g. `openssl rand -base64 32`) that encrypt endpoint secrets at rest. The first encrypts; all decrypt, so a new key goes first and the old stays until rows are re-sealed. Required.',
    ),
  SECRET_ROTATION_GRACE: durationMs
    .default(86_400_000)
    .describe(
      'How long a rotated-out endpoint or source secret stays live beside the new one (at most 3 live: a further rotation ends the oldest early).',
    ),
  SSRF_ALLOWLIST: z
    .string()
    .transform(commaList)
    .superRefine((cidrs, ctx) => {
      for (const cidr of cidrs) {
        const problem = cidrProblem(cidr);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      }
    })
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
  ...BREAKER_CONFIG,
  ...WORKER_TUNING_CONFIG,
  ...fxSettings,
  MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(256 * 1024)
    .describe('Largest request body accepted, in bytes; larger bodies get `413 payload_too_large`.'),
  REQUEST_TIMEOUT: durationMs
    .default(30_000)
    .describe(
      'Longest a client may take to send a whole request (headers within the lesser of this and 20 s); then `408` and the connection closes.',
    ),
  TRUST_PROXY: z
    .string()
    .min(1)
    .optional()
    .transform((v) =>
      v === undefined
        ? undefined
        : /^\d+$/.test(v)
          ? Number(v)
          : v === 'true'
            ? true
            : v === 'false'
              ? false
              : v,
    )
    .describe(
      'Which proxies may name the client in `X-Forwarded-For` (Express `trust proxy`): `loopback`, CIDRs such as `10.0.0.0/8`, a hop count, `true`. Unset: nobody; the client is the TCP peer.',
    ),
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
  ...RETENTION_SETTINGS,
});

export type Config = z.infer<typeof ConfigSchema>;
export type ConfigKey = keyof Config;

const DATABASE = ['DATABASE_URL', 'DATABASE_POOL_SIZE'] as const;
const TEMPORAL = [
  'TEMPORAL_ADDRESS',
  'TEMPORAL_NAMESPACE',
  'TEMPORAL_API_KEY',
  'TEMPORAL_TLS',
  'TEMPORAL_TLS_CERT',
  'TEMPORAL_TLS_KEY',
  'TEMPORAL_TLS_CA',
  'TEMPORAL_TLS_SERVER_NAME',
] as const;
/** What a process hosting a worker reads: its queue and bundle, delivery's secrets, guard and thresholds. */
const WORKER_HOST = [
  ...DATABASE,
  ...TEMPORAL,
  'TEMPORAL_TASK_QUEUE',
  'TEMPORAL_START_TIMEOUT',
  'TEMPORAL_WORKFLOW_BUNDLE',
  ...WORKER_TUNING_KEYS,
  'SECRETS_ENCRYPTION_KEYS',
  'SSRF_ALLOWLIST',
  'HTTPS_ONLY',
  'ENDPOINT_DISABLE_AFTER',
  'DELIVERY_FAILING_AFTER_ATTEMPTS',
  ...BREAKER_KEYS,
  'FX_RATE_LOOKBACK_DAYS',
  'SHUTDOWN_GRACE',
  'LOG_LEVEL',
] as const;
const API = [
  ...WORKER_HOST,
  'HOST',
  'PORT',
  'REQUEST_TIMEOUT',
  'TRUST_PROXY',
  'ADMIN_TOKEN',
  'SECRET_ROTATION_GRACE',
  'DELIVERY_TIMEOUT',
  'MAX_BODY_BYTES',
  'API_EMBEDDED_WORKER',
  ...API_WORKER_TUNING_KEYS,
  'RETENTION_EVENTS_AFTER', // the feed says how far back it reaches
  // The console links an event's story to its workflows there.
  'TEMPORAL_UI_URL',
] as const;
const WORKER = [
  ...WORKER_HOST,
  'HOST',
  'WORKER_METRICS_PORT',
  'TEMPORAL_METRICS_PORT',
  'RECONCILE_INTERVAL',
  'RECONCILE_GRACE',
  'BREAKER_WATCH_INTERVAL', // the watch runs beside the reconciler
  ...RETENTION_KEYS,
] as const;

/**
 * The settings each entry point reads, and so checks at start: a process never refuses to start over a
 * setting it does not use (`db:migrate` needs only `DATABASE_URL`). `dev` starts the API and the worker
 * with its own environment, so it checks what they read besides its own.
 */
export const ENTRY_POINT_SETTINGS = {
  api: API,
  worker: WORKER,
  migrate: ['DATABASE_URL'],
  'temporal-setup': [...TEMPORAL, 'RETENTION_DELIVERIES_AFTER'],
  temporal: [...TEMPORAL, 'DATABASE_URL', 'TEMPORAL_UI_URL', 'TEMPORAL_SERVER_METRICS_PORT'],
  dev: [...new Set([...API, ...WORKER, 'TEMPORAL_UI_URL', 'TEMPORAL_SERVER_METRICS_PORT'] as const)],
} as const satisfies Record<string, readonly ConfigKey[]>;
export type EntryPoint = keyof typeof ENTRY_POINT_SETTINGS;
export type EntryConfig<E extends EntryPoint> = Pick<Config, (typeof ENTRY_POINT_SETTINGS)[E][number]>;

/** The npm script that starts each entry point, as the documentation names it. */
export const ENTRY_POINT_SCRIPTS: Record<EntryPoint, string> = {
  api: 'api',
  worker: 'worker',
  migrate: 'db:migrate',
  'temporal-setup': 'temporal:setup',
  temporal: 'temporal',
  dev: 'dev',
};

/** Thrown with every problem in the environment at once, so an operator fixes them in one go. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Reads and validates the environment; reports all problems together. With an entry point, only the
 * settings it reads (ENTRY_POINT_SETTINGS) are read and checked; without, every setting.
 */
export function loadConfig(env?: NodeJS.ProcessEnv): Config;
export function loadConfig<E extends EntryPoint>(env: NodeJS.ProcessEnv, entry: E): EntryConfig<E>;
export function loadConfig(env: NodeJS.ProcessEnv = process.env, entry?: EntryPoint): Partial<Config> {
  const keys: readonly ConfigKey[] = entry
    ? ENTRY_POINT_SETTINGS[entry]
    : (Object.keys(ConfigSchema.shape) as ConfigKey[]);
  const schema = ConfigSchema.pick(Object.fromEntries(keys.map((k) => [k, true])) as Record<ConfigKey, true>);
  const input: Record<string, string> = {};
  for (const key of keys) {
    const value = env[key];
    if (value !== undefined && value !== '') input[key] = value;
  }
  const parsed = schema.safeParse(input);
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  problems.push(...temporalTlsProblems(input));
  if (parsed.success) problems.push(...retentionProblems(parsed.data));
  if (problems.length) throw new ConfigError(problems);
  return parsed.data!;
}

/** Settings that are wrong only together: a certificate without its key, an API key with TLS off. */
function temporalTlsProblems(input: Record<string, string>): string[] {
  const problems: string[] = [];
  if (Boolean(input.TEMPORAL_TLS_CERT) !== Boolean(input.TEMPORAL_TLS_KEY))
    problems.push('TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY: give both (mTLS), or neither');
  const tlsOff = booleanFlag.safeParse(input.TEMPORAL_TLS).data === false;
  if (tlsOff && input.TEMPORAL_API_KEY)
    problems.push('TEMPORAL_API_KEY: an API key is sent only over TLS; TEMPORAL_TLS is off');
  if (tlsOff && input.TEMPORAL_TLS_CERT)
    problems.push('TEMPORAL_TLS_CERT: a client certificate needs TLS; TEMPORAL_TLS is off');
  return problems;
}

/** One row per setting, for documentation: name, default (as written in the environment), description. */
export function describeConfig(): {
  key: string;
  default: string | undefined;
  required: boolean;
  /** The npm scripts whose entry points read it (`dev` only for what it reads itself). */
  readBy: string[];
  description: string;
}[] {
  const own = {
    ...ENTRY_POINT_SETTINGS,
    dev: [
      'ADMIN_TOKEN',
      ...TEMPORAL,
      'TEMPORAL_UI_URL',
      'TEMPORAL_SERVER_METRICS_PORT',
      'DATABASE_URL',
      'HOST',
      'PORT',
      'SHUTDOWN_GRACE',
    ],
  };
  return Object.entries(ConfigSchema.shape).map(([key, schema]) => {
    const def = (schema as z.ZodType).def as { type: string; defaultValue?: unknown };
    let defaultValue: string | undefined;
    if (def.type === 'default') {
      const raw = def.defaultValue;
      defaultValue = typeof raw === 'boolean' ? String(raw) : formatDefault(key, raw);
    }
    const required = def.type !== 'default' && def.type !== 'optional';
    const readBy = (Object.keys(own) as EntryPoint[])
      .filter((e) => (own[e] as readonly string[]).includes(key))
      .map((e) => ENTRY_POINT_SCRIPTS[e]);
    return { key, default: defaultValue, required, readBy, description: schema.description ?? '' };
  });
}

function formatDefault(key: string, raw: unknown): string {
  if (Array.isArray(raw)) return raw.join(',');
  if (typeof raw === 'number' && /(INTERVAL|GRACE|TIMEOUT|AFTER)$/.test(key)) return formatDuration(raw);
  return String(raw);
}
