import { loadConfig } from '../config.js';
import { migrate } from '../db/migrate.js';

/** Entry point: creates the database if missing and applies pending migrations. */
const config = loadConfig();
const result = await migrate(config.DATABASE_URL);
const db = new URL(config.DATABASE_URL).pathname.slice(1);
console.log(
  `migrate: database ${db}${result.created ? ' created' : ''}; ` +
    `applied ${result.applied.length ? result.applied.join(', ') : 'nothing new'} ` +
    `(${result.alreadyApplied.length} already applied)`,
);
