/**
 * What the full Temporal server on PostgreSQL runs with, as data: the server's configuration (the module's
 * own `config/development-postgres12.yaml`, with credentials and ports filled in and its archival and
 * namespace-defaults blocks left out), the SQL tool's steps that create and migrate its two databases, and
 * the Web UI server's configuration. Written as JSON, which both servers' YAML loaders read.
 */

/** The server release whose schema, server and SQL tool belong together (docker-compose.yml runs the same). */
export const TEMPORAL_SERVER_VERSION = 'v1.29.1';
/** The Web UI server the Temporal CLI v1.5.1 embeds (docker-compose.yml's temporalio/ui image: the same). */
export const TEMPORAL_UI_VERSION = 'v2.42.1';

/** Where Temporal's databases live and how it logs in (the local PostgreSQL by default). */
export interface PgTarget {
  host: string;
  port: number;
  user: string;
  password: string;
  /** The main store; the visibility store is `<database>_visibility`. */
  database: string;
}

/** Every port the four services and the metrics endpoint listen on (all on 127.0.0.1). */
export interface ServerPorts {
  frontend: number;
  frontendHttp: number;
  frontendMembership: number;
  history: number;
  historyMembership: number;
  matching: number;
  matchingMembership: number;
  worker: number;
  workerMembership: number;
  /** Prometheus `/metrics` of the server. */
  metrics: number;
}

export const SERVER_PORT_KEYS = [
  'frontend',
  'frontendHttp',
  'frontendMembership',
  'history',
  'historyMembership',
  'matching',
  'matchingMembership',
  'worker',
  'workerMembership',
  'metrics',
] as const satisfies readonly (keyof ServerPorts)[];

/** The server stores membership ports in a PostgreSQL smallint (cluster_membership.rpc_port). */
export const MAX_MEMBERSHIP_PORT = 32_767;

/** The ports of the module's development configuration, around a frontend on 7233. */
export function conventionalPorts(frontend = 7233, metrics = 8000): ServerPorts {
  return {
    frontend,
    frontendHttp: 7243,
    frontendMembership: 6933,
    history: 7234,
    historyMembership: 6934,
    matching: 7235,
    matchingMembership: 6935,
    worker: 7239,
    workerMembership: 6939,
    metrics,
  };
}

/**
 * TLS on the frontend (what clients, workers and `temporal:setup` reach), as a secured cluster or Temporal
 * Cloud runs it: the server's certificate and key, and with `clientCaFile` mutual TLS (a client must present
 * a certificate that CA signed). The server's own system worker connects to its frontend with
 * `systemWorker`'s certificate, checked against `caFile` under `serverName`. Paths of PEM files.
 */
export interface FrontendTls {
  certFile: string;
  keyFile: string;
  /** The CA that signed the server's certificate (its system worker checks the frontend against it). */
  caFile: string;
  /** The name in the server's certificate. */
  serverName: string;
  /** Clients must present a certificate signed by this CA (mutual TLS). */
  clientCaFile?: string;
  /** The system worker's client certificate, required when `clientCaFile` is. */
  systemWorker?: { certFile: string; keyFile: string };
}

/** The server configuration's `global.tls` block for frontend TLS (internode traffic stays on 127.0.0.1). */
export function frontendTlsConfig(tls: FrontendTls) {
  if (tls.clientCaFile && !tls.systemWorker)
    throw new Error("mutual TLS needs a client certificate for the server's own system worker");
  const client = { serverName: tls.serverName, rootCaFiles: [tls.caFile] };
  return {
    frontend: {
      server: {
        certFile: tls.certFile,
        keyFile: tls.keyFile,
        requireClientAuth: Boolean(tls.clientCaFile),
        ...(tls.clientCaFile ? { clientCaFiles: [tls.clientCaFile] } : {}),
      },
      client,
    },
    systemWorker: { ...(tls.systemWorker ?? {}), client },
  };
}

export const visibilityDatabase = (database: string) => `${database}_visibility`;

/** Both databases with the embedded schema they take (`schema/postgresql/v12/...` of the server module). */
export function temporalDatabases(database: string): { name: string; schema: string }[] {
  return [
    { name: database, schema: 'postgresql/v12/temporal' },
    { name: visibilityDatabase(database), schema: 'postgresql/v12/visibility' },
  ];
}

/**
 * The SQL tool's command lines, in order: for each database create it (a no-op when it exists), set up
 * the version tables at 0.0 (a no-op on a newer schema) and apply every versioned step up to the release.
 * The same steps as the compose stack's `temporal-admin-tools` job, so running them again is harmless.
 */
export function schemaSteps(target: PgTarget): string[][] {
  const connect = [
    '--plugin',
    'postgres12',
    '--endpoint',
    target.host,
    '--port',
    String(target.port),
    '--user',
    target.user,
  ];
  return temporalDatabases(target.database).flatMap(({ name, schema }) => {
    const tool = [...connect, '--db', name];
    return [
      [...tool, 'create-database'],
      [...tool, 'setup-schema', '-v', '0.0'],
      [...tool, 'update-schema', '--schema-name', schema],
    ];
  });
}

function datastore(target: PgTarget, database: string, maxConns: number) {
  return {
    sql: {
      pluginName: 'postgres12',
      databaseName: database,
      connectAddr: `${target.host}:${target.port}`,
      connectProtocol: 'tcp',
      user: target.user,
      password: target.password,
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  };
}

const service = (grpcPort: number, membershipPort: number, extra: Record<string, number> = {}) => ({
  rpc: { grpcPort, membershipPort, bindOnLocalHost: true, ...extra },
});

/**
 * The server's configuration. Each of the four services keeps its own pools, so they stay small: the
 * local PostgreSQL allows 100 connections, shared with the app and its tests.
 */
export function serverConfig(o: {
  target: PgTarget;
  ports: ServerPorts;
  /** Absolute path of the dynamic config file (deploy/temporal/dynamicconfig.yaml, as in compose). */
  dynamicConfigFile: string;
  logLevel?: string;
  /** TLS on the frontend; none by default (a local server on 127.0.0.1). */
  tls?: FrontendTls;
}) {
  const { target, ports } = o;
  for (const key of SERVER_PORT_KEYS.filter((k) => k.endsWith('Membership'))) {
    if (ports[key] > MAX_MEMBERSHIP_PORT)
      throw new Error(
        `${key} port ${ports[key]}: the server stores membership ports as a smallint (<= 32767)`,
      );
  }
  return {
    log: { stdout: true, level: o.logLevel ?? 'warn' },
    persistence: {
      defaultStore: 'postgres-default',
      visibilityStore: 'postgres-visibility',
      numHistoryShards: 4,
      datastores: {
        'postgres-default': datastore(target, target.database, 10),
        'postgres-visibility': datastore(target, visibilityDatabase(target.database), 4),
      },
    },
    global: {
      membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' },
      metrics: {
        prometheus: {
          framework: 'tally',
          timerType: 'histogram',
          listenAddress: `127.0.0.1:${ports.metrics}`,
        },
      },
      ...(o.tls ? { tls: frontendTlsConfig(o.tls) } : {}),
    },
    services: {
      frontend: service(ports.frontend, ports.frontendMembership, { httpPort: ports.frontendHttp }),
      matching: service(ports.matching, ports.matchingMembership),
      history: service(ports.history, ports.historyMembership),
      worker: service(ports.worker, ports.workerMembership),
    },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: {
        active: {
          enabled: true,
          initialFailoverVersion: 1,
          rpcName: 'frontend',
          rpcAddress: `127.0.0.1:${ports.frontend}`,
        },
      },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    dynamicConfigClient: { filepath: o.dynamicConfigFile, pollInterval: '10s' },
  };
}

/** The Web UI server's configuration: the UI against the server's frontend. */
export function uiServerConfig(o: { frontend: string; host: string; port: number; namespace: string }) {
  return {
    temporalGrpcAddress: o.frontend,
    host: o.host,
    port: o.port,
    enableUi: true,
    defaultNamespace: o.namespace,
    refreshInterval: '1m',
    showTemporalSystemNamespace: false,
    notifyOnNewVersion: false,
    cors: { allowOrigins: [], cookieInsecure: true },
  };
}

/** Where Temporal logs in, from a PostgreSQL URL (the app's DATABASE_URL: the same server and login). */
export function pgTargetFrom(url: string, database: string): PgTarget {
  const parsed = new URL(url);
  return {
    host: parsed.hostname || '127.0.0.1',
    port: Number(parsed.port || 5432),
    user: decodeURIComponent(parsed.username || 'postgres'),
    password: decodeURIComponent(parsed.password),
    database,
  };
}
