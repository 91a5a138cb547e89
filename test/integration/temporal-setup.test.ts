import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { SearchAttributeType, type SearchAttributePair } from '@temporalio/common';
import { msNumberToTs } from '@temporalio/common/lib/time.js';
import proto from '@temporalio/proto';
import { SA } from '../../src/domain/search-attributes.js';
import { freePort, namespaceReady, stopProcess } from '../../src/main/host/dev-server.js';
import { setupCluster } from '../../src/main/host/setup-cluster.js';
import { uniqueId } from '../support/factories.js';

/**
 * Runs a bare dev server of its own (started without the project's `--search-attribute` flags), so that
 * every attribute the project uses has to be registered by setupCluster.
 */
const root = join(import.meta.dirname, '..', '..');
const names = Object.values(SA)
  .map((key) => key.name)
  .sort();
const { IndexedValueType } = proto.temporal.api.enums.v1;

let server: ChildProcess;
let address: string;
let connection: Connection;

before(async () => {
  const cli = process.env.TEMPORAL_CLI;
  const tmp = process.env.TEST_TMP_DIR;
  if (!cli || !tmp) throw new Error('needs TEMPORAL_CLI and TEST_TMP_DIR: run it through `npm test`');
  const port = await freePort();
  address = `127.0.0.1:${port}`;
  const out = openSync(join(tmp, `setup-${port}.log`), 'a');
  server = spawn(
    cli,
    [
      ...['server', 'start-dev', '--headless', '--ip', '127.0.0.1', '--port', String(port)],
      ...['--db-filename', join(tmp, `setup-${port}.sqlite`), '--log-level', 'error'],
    ],
    { stdio: ['ignore', out, out] },
  );
  const deadline = Date.now() + 60_000;
  while (!(await namespaceReady(address, 'default'))) {
    if (server.exitCode !== null) throw new Error(`temporal server exited with ${server.exitCode}`);
    if (Date.now() > deadline) throw new Error(`temporal server at ${address} not ready after 60 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
  connection = await Connection.connect({ address });
});

after(async () => {
  await connection?.close();
  if (server) await stopProcess(server);
});

async function customAttributes(namespace: string) {
  const res = await connection.operatorService.listSearchAttributes({ namespace });
  return res.customAttributes;
}

describe('setupCluster', () => {
  const namespace = 'affiliate-hooks-test';

  it('on a bare server, creates the namespace and registers every search attribute', async () => {
    const before = await customAttributes('default');
    assert.deepEqual(
      names.filter((n) => n in before),
      [],
      'the server must start without the project attributes',
    );

    const lines: string[] = [];
    const result = await setupCluster({ connection, namespace, retention: '3d', log: (l) => lines.push(l) });
    assert.equal(result.namespaceCreated, true);
    assert.deepEqual([...result.added].sort(), names);
    assert.deepEqual(result.alreadyPresent, []);
    assert.ok(lines.includes(`namespace ${namespace} created (retention 3d)`), lines.join('\n'));
    assert.ok(lines.includes('search attribute DeliveryStatus (KeywordList) added'), lines.join('\n'));

    const described = await connection.workflowService.describeNamespace({ namespace });
    assert.equal(Number(described.config?.workflowExecutionRetentionTtl?.seconds), 3 * 86_400);
    const registered = await customAttributes(namespace);
    for (const key of Object.values(SA)) {
      const expected = {
        [SearchAttributeType.KEYWORD]: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
        [SearchAttributeType.KEYWORD_LIST]: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
        [SearchAttributeType.INT]: IndexedValueType.INDEXED_VALUE_TYPE_INT,
        [SearchAttributeType.DATETIME]: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
      }[key.type as string];
      assert.equal(registered[key.name], expected, key.name);
    }
  });

  it('is idempotent: a second run changes nothing and reports everything as present', async () => {
    const lines: string[] = [];
    const result = await setupCluster({ connection, namespace, log: (l) => lines.push(l) });
    assert.equal(result.namespaceCreated, false);
    assert.deepEqual(result.added, []);
    assert.deepEqual([...result.alreadyPresent].sort(), names);
    assert.equal(lines[0], `namespace ${namespace} exists`);
    assert.equal(lines.filter((l) => l.endsWith(' already present')).length, names.length);
  });

  it("brings an existing namespace's retention to the one asked for (RETENTION_DELIVERIES_AFTER), once", async () => {
    const lines: string[] = [];
    const result = await setupCluster({ connection, namespace, retention: '90d', log: (l) => lines.push(l) });
    assert.equal(result.namespaceCreated, false);
    assert.equal(result.retentionUpdated, true);
    assert.ok(lines.includes(`namespace ${namespace} retention 3d -> 90d`), lines.join('\n'));
    const described = await connection.workflowService.describeNamespace({ namespace });
    assert.equal(Number(described.config?.workflowExecutionRetentionTtl?.seconds), 90 * 86_400);
    const again = await setupCluster({ connection, namespace, retention: '90d' });
    assert.equal(again.retentionUpdated, false, 'a second run finds it set');
  });

  it('afterwards, a workflow starts in the namespace with every search attribute set', async () => {
    const client = new Client({ connection, namespace });
    const nextAttemptAt = new Date(Date.now() + 60_000);
    const pairs = Object.values(SA).map((key): SearchAttributePair => {
      switch (key.type) {
        case SearchAttributeType.KEYWORD:
          return { key, value: `kw-${key.name}` } as SearchAttributePair;
        case SearchAttributeType.KEYWORD_LIST:
          return { key, value: [`kl-${key.name}`] } as SearchAttributePair;
        case SearchAttributeType.INT:
          return { key, value: 3 } as SearchAttributePair;
        case SearchAttributeType.DATETIME:
          return { key, value: nextAttemptAt } as SearchAttributePair;
        default: {
          // A new attribute type in SA needs a sample value here: this fails to compile until it has one.
          const unhandled: never = key;
          throw new Error(`no sample value for ${JSON.stringify(unhandled)}`);
        }
      }
    });
    const handle = await client.workflow.start('processEvent', {
      taskQueue: 'nobody',
      workflowId: uniqueId('setup'),
      args: [],
      typedSearchAttributes: pairs,
    });
    try {
      const described = await handle.describe();
      for (const { key, value } of pairs) {
        const actual = described.typedSearchAttributes.get(key);
        if (value instanceof Date) assert.equal((actual as Date).getTime(), value.getTime(), key.name);
        else assert.deepEqual(actual, value, key.name);
      }
    } finally {
      await handle.terminate('temporal-setup test');
    }
  });

  it('throws, naming it, when an attribute is registered with another type, and changes nothing', async () => {
    const other = 'affiliate-hooks-conflict';
    await connection.workflowService.registerNamespace({
      namespace: other,
      workflowExecutionRetentionPeriod: msNumberToTs(86_400_000),
    });
    // Other APIs than describeNamespace see a new namespace only after the frontend's cache refreshes.
    const deadline = Date.now() + 30_000;
    while (
      !(await customAttributes(other).then(
        () => true,
        () => false,
      ))
    ) {
      assert.ok(Date.now() < deadline, 'namespace not served');
      await new Promise((r) => setTimeout(r, 200));
    }
    await connection.operatorService.addSearchAttributes({
      namespace: other,
      searchAttributes: { DeliveryAttempt: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD },
    });
    while (!('DeliveryAttempt' in (await customAttributes(other)))) {
      assert.ok(Date.now() < deadline, 'attribute not visible');
      await new Promise((r) => setTimeout(r, 200));
    }

    await assert.rejects(setupCluster({ connection, namespace: other }), (err: Error) => {
      assert.match(err.message, /DeliveryAttempt/);
      assert.match(err.message, /Keyword/);
      assert.match(err.message, /Int/);
      return true;
    });
    const after = await customAttributes(other);
    assert.deepEqual(
      names.filter((n) => n in after),
      ['DeliveryAttempt'],
      'no attribute is added when one conflicts',
    );
  });
});

describe('npm run temporal:setup', () => {
  function runSetup(): Promise<{ code: number | null; output: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/main/temporal-setup.ts'], {
        cwd: root,
        env: { ...process.env, TEMPORAL_ADDRESS: address, TEMPORAL_NAMESPACE: 'default' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, output }));
    });
  }

  it('registers the attributes on the configured namespace, and exits 0 when run again', async () => {
    const first = await runSetup();
    assert.equal(first.code, 0, first.output);
    assert.match(first.output, /^namespace default exists$/m);
    for (const key of Object.values(SA)) {
      assert.match(first.output, new RegExp(`^search attribute ${key.name} \\(\\w+\\) added$`, 'm'));
    }
    assert.match(first.output, /^search attribute NextAttemptAt \(Datetime\) added$/m);

    const second = await runSetup();
    assert.equal(second.code, 0, second.output);
    for (const key of Object.values(SA)) {
      assert.match(
        second.output,
        new RegExp(`^search attribute ${key.name} \\(\\w+\\) already present$`, 'm'),
      );
    }
  });
});
