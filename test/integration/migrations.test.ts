import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import {
  MIGRATIONS_DIR,
  MigrationInProgressError,
  NO_TRANSACTION,
  migrate,
  statementsOf,
} from '../../src/db/migrate.js';
import { randomBase62 } from '../../src/db/new-id.js';
import { testEnv } from '../support/env.js';

/**
 * Safe migrations (issue 15, item 8): the migrator says what it will run before it runs it, refuses to run
 * beside another migrator, and builds indexes on existing tables CONCURRENTLY, outside a transaction, so a
 * migration never blocks intake. Each case on a database of its own.
 */
const env = testEnv();
const databases: string[] = [];
const dirs: string[] = [];
after(async () => {
  const admin = new pg.Client({ connectionString: env.databaseUrl.replace(/\/[^/]*$/, '/postgres') });
  await admin.connect();
  for (const db of databases) await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  await admin.end();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function freshDatabase(): string {
  const name = `affiliate_hooks_mig_${randomBase62(8).toLowerCase()}`;
  databases.push(name);
  const url = new URL(env.databaseUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

function migrationsDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'migrations-'));
  dirs.push(dir);
  for (const [name, sql] of Object.entries(files)) writeFileSync(join(dir, name), sql);
  return dir;
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

const TABLE = `CREATE TABLE t (id serial PRIMARY KEY, x int NOT NULL);\nINSERT INTO t (x) VALUES (1), (1), (2);\n`;

describe('migrations', () => {
  it('when migrations are pending, then it says which before it runs them, and nothing the second time', async () => {
    const url = freshDatabase();
    const dir = migrationsDir({ '001_a.sql': TABLE, '002_b.sql': 'ALTER TABLE t ADD COLUMN y int;\n' });
    const plans: string[][] = [];
    const first = await migrate(url, { dir, onPlan: (p) => plans.push(p) });
    assert.deepEqual(first.applied, ['001_a.sql', '002_b.sql']);
    await migrate(url, { dir, onPlan: (p) => plans.push(p) });
    assert.deepEqual(plans, [['001_a.sql', '002_b.sql'], []]);
  });

  it('when an index is built on an existing table, then a no-transaction file builds it CONCURRENTLY', async () => {
    const url = freshDatabase();
    const dir = migrationsDir({
      '001_a.sql': TABLE,
      '002_index.sql':
        '-- migrate: no-transaction\n-- x is looked up\nCREATE INDEX CONCURRENTLY IF NOT EXISTS t_x ON t (x);\n',
    });
    const r = await migrate(url, { dir });
    assert.deepEqual(r.applied, ['001_a.sql', '002_index.sql']);
    const valid = await withClient(url, (c) =>
      c.query(`SELECT indisvalid FROM pg_index WHERE indexrelid = 't_x'::regclass`),
    );
    assert.equal(valid.rows[0].indisvalid, true);
  });

  it('when a concurrent build failed and left its index invalid, then the next run builds it again', async () => {
    const url = freshDatabase();
    const unique =
      '-- migrate: no-transaction\nCREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS t_x_unique ON t (x);\n';
    const dir = migrationsDir({ '001_a.sql': TABLE, '002_unique.sql': unique });
    await assert.rejects(migrate(url, { dir }), /002_unique\.sql failed: .*could not create unique index/);
    await withClient(url, (c) => c.query('DELETE FROM t WHERE id = (SELECT max(id) FROM t WHERE x = 1)'));
    const r = await migrate(url, { dir });
    assert.deepEqual(r.applied, ['002_unique.sql']);
    const valid = await withClient(url, (c) =>
      c.query(`SELECT indisvalid FROM pg_index WHERE indexrelid = 't_x_unique'::regclass`),
    );
    assert.equal(valid.rows[0].indisvalid, true);
  });

  it('when another migrator is running, then this one refuses at once, naming it, and changes nothing', async () => {
    const url = freshDatabase();
    const dir = migrationsDir({ '001_a.sql': TABLE });
    await migrate(url, { dir: migrationsDir({}) }); // creates the database
    const holder = new pg.Client({ connectionString: url, application_name: 'the other migrator' });
    await holder.connect();
    try {
      await holder.query('SELECT pg_advisory_lock(7233001)');
      const started = Date.now();
      const err = await Promise.race([
        migrate(url, { dir }).then(
          () => assert.fail('ran beside another migrator'),
          (e: Error) => e,
        ),
        new Promise<Error>((resolve) =>
          setTimeout(() => resolve(new Error('still waiting after 10 s')), 10_000),
        ),
      ]);
      assert.ok(err instanceof MigrationInProgressError, err.message);
      assert.match(err.message, /another migration is running .*"the other migrator"/);
      assert.ok(Date.now() - started < 10_000);
      const tables = await holder.query(`SELECT to_regclass('t') AS t`);
      assert.equal(tables.rows[0].t, null);
    } finally {
      await holder.end();
    }
    assert.deepEqual((await migrate(url, { dir })).applied, ['001_a.sql']);
  });

  it("the project's own migrations build indexes on existing tables concurrently (from 013 on)", () => {
    const offenders: string[] = [];
    for (const file of readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith('.sql'))) {
      if (Number(file.slice(0, 3)) < 13) continue; // applied everywhere before the rule
      const sql = readFileSync(join(MIGRATIONS_DIR, file), 'utf8');
      const created = new Set([...sql.matchAll(/CREATE TABLE (?:IF NOT EXISTS )?(\w+)/gi)].map((m) => m[1]));
      for (const statement of statementsOf(sql)) {
        const m = /^CREATE\s+(?:UNIQUE\s+)?INDEX\s+(CONCURRENTLY\s+)?.*?\bON\s+(\w+)/is.exec(statement);
        if (!m || created.has(m[2]!)) continue;
        if (!m[1] || !NO_TRANSACTION.test(sql)) offenders.push(`${file}: ${statement.slice(0, 80)}`);
      }
    }
    assert.deepEqual(offenders, []);
  });
});
