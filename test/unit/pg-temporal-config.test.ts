/**
 * The PostgreSQL mode (`npm run dev -- --temporal=postgres`, `npm run test:integration -- --temporal=postgres`)
 * as data: the server configuration it writes, the SQL tool steps, how it finds its programs, and how the
 * mode is chosen. Running it is the integration suite's job.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { findGoTool } from '../../src/main/host/go-binary.js';
import { DYNAMIC_CONFIG_FILE, temporalModeFrom } from '../../src/main/host/local-temporal.js';
import {
  conventionalPorts,
  frontendTlsConfig,
  pgTargetFrom,
  schemaSteps,
  serverConfig,
  uiServerConfig,
} from '../../src/main/host/pg-temporal-config.js';
import { TEMPORAL_SERVER, TEMPORAL_UI_SERVER } from '../../src/main/host/pg-temporal.js';

const target = pgTargetFrom('postgres://temporal:s%3Acret@db.local:5433/affiliate_hooks', 'temporal_x');

describe('the PostgreSQL mode', () => {
  it('logs Temporal in with the login of the URL it is given, on databases of its own', () => {
    assert.deepEqual(target, {
      host: 'db.local',
      port: 5433,
      user: 'temporal',
      password: 's:cret',
      database: 'temporal_x',
    });
    const local = pgTargetFrom('postgres://postgres@127.0.0.1:5432/affiliate_hooks', 'temporal');
    assert.equal(local.password, '');
    assert.equal(local.user, 'postgres');
  });

  it("configures the module's postgres12 layout with credentials, ports and no archival", () => {
    const ports = conventionalPorts(7233, 8000);
    const config = serverConfig({ target, ports, dynamicConfigFile: DYNAMIC_CONFIG_FILE });
    const stores = config.persistence.datastores;
    assert.equal(stores['postgres-default'].sql.databaseName, 'temporal_x');
    assert.equal(stores['postgres-visibility'].sql.databaseName, 'temporal_x_visibility');
    for (const store of Object.values(stores)) {
      assert.equal(store.sql.pluginName, 'postgres12');
      assert.equal(store.sql.connectAddr, 'db.local:5433');
      assert.equal(store.sql.user, 'temporal');
      assert.equal(store.sql.password, 's:cret');
    }
    assert.ok(!('archival' in config) && !('namespaceDefaults' in config));
    assert.equal(config.services.frontend.rpc.grpcPort, 7233);
    assert.equal(config.global.metrics.prometheus.listenAddress, '127.0.0.1:8000');
    assert.equal(config.clusterMetadata.clusterInformation.active.rpcAddress, '127.0.0.1:7233');
    assert.equal(config.dynamicConfigClient.filepath, DYNAMIC_CONFIG_FILE);
    const every = Object.values(config.services).flatMap((s) => [s.rpc.grpcPort, s.rpc.membershipPort]);
    assert.equal(new Set(every).size, every.length, 'no two services share a port');
  });

  it('puts TLS on the frontend only when asked: mutual TLS with a client CA, and the system worker a client pair', () => {
    const ports = conventionalPorts();
    const plain = serverConfig({ target, ports, dynamicConfigFile: DYNAMIC_CONFIG_FILE });
    assert.ok(!('tls' in plain.global));
    const tls = {
      certFile: '/tls/server.pem',
      keyFile: '/tls/server.key',
      caFile: '/tls/ca.pem',
      serverName: 'temporal.internal',
      clientCaFile: '/tls/clients-ca.pem',
      systemWorker: { certFile: '/tls/worker.pem', keyFile: '/tls/worker.key' },
    };
    const secured = serverConfig({ target, ports, dynamicConfigFile: DYNAMIC_CONFIG_FILE, tls });
    assert.deepEqual((secured.global as { tls?: unknown }).tls, {
      frontend: {
        server: {
          certFile: '/tls/server.pem',
          keyFile: '/tls/server.key',
          requireClientAuth: true,
          clientCaFiles: ['/tls/clients-ca.pem'],
        },
        client: { serverName: 'temporal.internal', rootCaFiles: ['/tls/ca.pem'] },
      },
      systemWorker: {
        certFile: '/tls/worker.pem',
        keyFile: '/tls/worker.key',
        client: { serverName: 'temporal.internal', rootCaFiles: ['/tls/ca.pem'] },
      },
    });
    // Server TLS alone: no client certificates asked for.
    const serverOnly = frontendTlsConfig({ ...tls, clientCaFile: undefined, systemWorker: undefined });
    assert.equal(serverOnly.frontend.server.requireClientAuth, false);
    assert.ok(!('clientCaFiles' in serverOnly.frontend.server));
    // Mutual TLS without a pair for the server's own system worker would lock it out of its frontend.
    assert.throws(() => frontendTlsConfig({ ...tls, systemWorker: undefined }), /system worker/);
  });

  it('refuses a membership port the server cannot store (a smallint column)', () => {
    const ports = { ...conventionalPorts(), historyMembership: 36_401 };
    assert.throws(
      () => serverConfig({ target, ports, dynamicConfigFile: DYNAMIC_CONFIG_FILE }),
      /historyMembership port 36401/,
    );
  });

  it('creates, versions and migrates both databases from the embedded v12 schema, password off the command line', () => {
    const steps = schemaSteps(target).map((args) => args.slice(args.indexOf('--db') + 1).join(' '));
    assert.deepEqual(steps, [
      'temporal_x create-database',
      'temporal_x setup-schema -v 0.0',
      'temporal_x update-schema --schema-name postgresql/v12/temporal',
      'temporal_x_visibility create-database',
      'temporal_x_visibility setup-schema -v 0.0',
      'temporal_x_visibility update-schema --schema-name postgresql/v12/visibility',
    ]);
    for (const args of schemaSteps(target)) {
      assert.ok(!args.some((a) => a.includes('s:cret')));
      assert.deepEqual(args.slice(0, 8), [
        '--plugin',
        'postgres12',
        '--endpoint',
        'db.local',
        '--port',
        '5433',
        '--user',
        'temporal',
      ]);
    }
  });

  it("points the Web UI at the server's frontend and the app's namespace", () => {
    const ui = uiServerConfig({
      frontend: '127.0.0.1:7233',
      host: '127.0.0.1',
      port: 8233,
      namespace: 'default',
    });
    assert.equal(ui.temporalGrpcAddress, '127.0.0.1:7233');
    assert.equal(ui.port, 8233);
    assert.equal(ui.defaultNamespace, 'default');
  });

  it('is chosen by --temporal=postgres, and anything else but dev is an error', () => {
    assert.equal(temporalModeFrom([]), 'dev');
    assert.equal(temporalModeFrom(['--temporal=postgres']), 'postgres');
    assert.equal(temporalModeFrom(['--only', 'integration', '--temporal', 'postgres']), 'postgres');
    assert.equal(temporalModeFrom(['--temporal=dev']), 'dev');
    assert.throws(() => temporalModeFrom(['--temporal=sqlite']), /dev or postgres/);
  });
});

describe('finding the Temporal server and the Web UI server', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'go-tools-'));
  const fake = (dir: string, name: string) => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, name), '#!/bin/sh\n');
    chmodSync(join(dir, name), 0o755);
    return join(dir, name);
  };
  const withEnv = <T>(vars: Record<string, string | undefined>, fn: () => T): T => {
    const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
    for (const [k, v] of Object.entries(vars))
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    try {
      return fn();
    } finally {
      for (const [k, v] of Object.entries(saved))
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
    }
  };
  // Go's bin folder holds a program named `server` that is not Temporal's (another tool's `go install`).
  const gobin = join(scratch, 'gobin');
  fake(gobin, 'server');
  fake(join(scratch, 'home', 'go', 'bin'), 'server');
  const goOnly = `${process.env.PATH?.split(':').find((d) => d.endsWith('go/bin')) ?? '/usr/local/go/bin'}:/usr/bin:/bin`;
  const base = {
    TEMPORAL_SERVER: undefined,
    TEMPORAL_UI_SERVER: undefined,
    GOBIN: gobin,
    GOPATH: join(scratch, 'home', 'go'),
    HOME: join(scratch, 'home'),
  };

  it('does not take a `server` in Go bin folders that was not built from the server package', () => {
    assert.equal(
      withEnv({ ...base, PATH: goOnly }, () => findGoTool(TEMPORAL_SERVER)),
      null,
    );
  });

  it('takes a release binary on PATH by its release name', () => {
    const onPath = fake(join(scratch, 'path'), 'temporal-server');
    const found = withEnv({ ...base, PATH: `${join(scratch, 'path')}:${goOnly}` }, () =>
      findGoTool(TEMPORAL_SERVER),
    );
    assert.deepEqual(found, { path: onPath, source: 'PATH' });
  });

  it("does not take a folder named like the tool (the Web UI server's own folder in Go's bin)", () => {
    mkdirSync(join(scratch, 'dirs', 'temporal-server'), { recursive: true });
    const found = withEnv({ ...base, PATH: `${join(scratch, 'dirs')}:${goOnly}` }, () =>
      findGoTool(TEMPORAL_SERVER),
    );
    assert.equal(found, null);
  });

  it('prefers TEMPORAL_SERVER, and refuses one that is not executable', () => {
    const named = fake(join(scratch, 'named'), 'anything');
    assert.deepEqual(
      withEnv({ ...base, TEMPORAL_SERVER: named }, () => findGoTool(TEMPORAL_SERVER)),
      { path: named, source: 'TEMPORAL_SERVER' },
    );
    assert.throws(
      () =>
        withEnv({ ...base, TEMPORAL_SERVER: join(scratch, 'missing') }, () => findGoTool(TEMPORAL_SERVER)),
      /not an executable/,
    );
  });

  it("installs the Web UI server into a folder of its own, so it never replaces the Temporal server's `server`", () => {
    assert.equal(TEMPORAL_UI_SERVER.goBinName, TEMPORAL_SERVER.goBinName);
    assert.ok(TEMPORAL_UI_SERVER.goBinSubdir);
    assert.equal(TEMPORAL_SERVER.goBinSubdir, undefined);
  });
});
