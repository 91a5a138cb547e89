/**
 * A transaction whose connection the server closes (a restart, a failover, `pg_terminate_backend`) while it
 * is checked out: the process must live on, the broken connection must not go back to the pool, and work
 * lost before COMMIT runs again on a fresh connection.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { randomBase62 } from '../../src/db/new-id.js';
import { createPool, isDatabaseUnavailable, withTransaction, type Pool } from '../../src/db/pool.js';
import { testEnv } from '../support/env.js';

const env = testEnv();
let pool: Pool;
let killer: Pool;
const table = `tx_probe_${randomBase62(8).toLowerCase()}`;

before(async () => {
  pool = createPool(env.databaseUrl, 2);
  killer = createPool(env.databaseUrl, 1);
  await killer.query(`CREATE TABLE ${table} (id text PRIMARY KEY, pid int NOT NULL)`);
});
after(async () => {
  await killer?.query(`DROP TABLE IF EXISTS ${table}`);
  await pool?.end();
  await killer?.end();
});

const terminate = (pid: number) => killer.query('SELECT pg_terminate_backend($1)', [pid]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('when the server closes a connection inside withTransaction', () => {
  it('while the client waits between statements, the transaction runs again on a new connection', async () => {
    const pids: number[] = [];
    const id = randomBase62(8);
    const result = await withTransaction(pool, async (tx) => {
      const { rows } = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      pids.push(rows[0]!.pid);
      await tx.query(`INSERT INTO ${table} (id, pid) VALUES ($1, $2)`, [id, rows[0]!.pid]);
      if (pids.length === 1) {
        await terminate(rows[0]!.pid);
        // Checked out and idle when the server's goodbye arrives: no query to fail, only an 'error' event.
        await sleep(200);
      }
      await tx.query('SELECT 1');
      return 'done';
    });
    assert.equal(result, 'done');
    assert.equal(pids.length, 2);
    assert.notEqual(pids[0], pids[1]);
    const { rows } = await killer.query(`SELECT pid FROM ${table} WHERE id = $1`, [id]);
    assert.deepEqual(rows, [{ pid: pids[1] }], 'the lost attempt left nothing; the second committed once');
  });

  it('while a statement runs, the same: retried, and the pool hands out only live connections', async () => {
    let runs = 0;
    await withTransaction(pool, async (tx) => {
      runs++;
      const { rows } = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      if (runs === 1) {
        setTimeout(() => void terminate(rows[0]!.pid), 100);
        await tx.query('SELECT pg_sleep(2)');
      }
    });
    assert.equal(runs, 2);
    // Every pooled connection answers.
    await Promise.all([pool.query('SELECT 1'), pool.query('SELECT 1')]);
  });

  it('when every try is cut, it gives up with an error that says the database is unavailable', async () => {
    let runs = 0;
    const failure = await withTransaction(
      pool,
      async (tx) => {
        runs++;
        const { rows } = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        await terminate(rows[0]!.pid);
        await sleep(100);
        await tx.query('SELECT 1');
      },
      { attempts: 2 },
    ).then(
      () => assert.fail('expected a failure'),
      (err: unknown) => err,
    );
    assert.equal(runs, 2);
    assert.ok(isDatabaseUnavailable(failure), String(failure));
  });

  it('an error of the work itself rolls back and is not retried', async () => {
    let runs = 0;
    const id = randomBase62(8);
    await assert.rejects(
      withTransaction(pool, async (tx) => {
        runs++;
        await tx.query(`INSERT INTO ${table} (id, pid) VALUES ($1, 0)`, [id]);
        await tx.query(`INSERT INTO ${table} (id, pid) VALUES ($1, 0)`, [id]); // duplicate key
      }),
      /duplicate key/,
    );
    assert.equal(runs, 1);
    const { rowCount } = await killer.query(`SELECT 1 FROM ${table} WHERE id = $1`, [id]);
    assert.equal(rowCount, 0);
  });
});
