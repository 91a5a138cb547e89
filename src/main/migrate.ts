import { migrate } from '../db/migrate.js';
import { startupConfig } from './startup-config.js';

/** Entry point: creates the database if missing and applies pending migrations. Reads only DATABASE_URL. */
const config = startupConfig('migrate');
const db = new URL(config.DATABASE_URL).pathname.slice(1);
try {
  const result = await migrate(config.DATABASE_URL, {
    onPlan: (pending) =>
      console.log(`migrate: ${pending.length ? `will apply ${pending.join(', ')}` : 'nothing to apply'}`),
  });
  console.log(
    `migrate: database ${db}${result.created ? ' created' : ''}; ` +
      `applied ${result.applied.length ? result.applied.join(', ') : 'nothing new'} ` +
      `(${result.alreadyApplied.length} already applied)`,
  );
} catch (err) {
  // PostgreSQL away or refusing: say so in one line; the stack says nothing an operator can act on.
  const where = config.DATABASE_URL.replace(/:[^:@/]*@/, ':***@');
  console.error(`migrate failed (database ${where}): ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
