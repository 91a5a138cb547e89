/**
 * Preloaded into the API and worker processes the bench starts (`node --import tsx --import
 * ./bench/pg-count-hook.mjs src/main/api.ts`): counts every PostgreSQL round trip the process makes, i.e.
 * every `Client#query` call of node-postgres (one protocol exchange each, BEGIN and COMMIT included), and
 * the transactions they form. The bench asks for the counts over the IPC channel it opened. Nothing in the
 * product changes; without an IPC channel (or in a worker thread) this file does nothing.
 *
 * Plain JavaScript: Node also preloads it into the Temporal worker's workflow threads, where no TypeScript
 * loader is ready yet.
 */
import process from 'node:process';
import { isMainThread } from 'node:worker_threads';
import pg from 'pg';

if (isMainThread && process.send) {
  const counts = { queries: 0, transactions: 0, byStatement: /** @type {Record<string, number>} */ ({}) };
  const inTransaction = new WeakSet();
  const original = pg.Client.prototype.query;
  /** @param {string} text */
  const key = (text) => text.replace(/\s+/g, ' ').trim().slice(0, 90);
  pg.Client.prototype.query = function patchedQuery(...args) {
    const first = args[0];
    const text = typeof first === 'string' ? first : (first?.text ?? '<query>');
    const k = key(text);
    counts.queries++;
    counts.byStatement[k] = (counts.byStatement[k] ?? 0) + 1;
    const verb = k.split(' ')[0].toUpperCase();
    if (verb === 'BEGIN') inTransaction.add(this);
    else if (verb === 'COMMIT' || verb === 'ROLLBACK') {
      inTransaction.delete(this);
      counts.transactions++;
    } else if (!inTransaction.has(this)) counts.transactions++;
    return original.apply(this, args);
  };

  process.on('message', (message) => {
    if (message?.type === 'bench:pg-counts') {
      process.send?.({ type: 'bench:pg-counts', seq: message.seq, counts });
    }
  });
  // The channel must not keep the process alive: its own shutdown decides when it exits.
  process.channel?.unref();
}
