// Copies what tsc does not: the SQL migrations, next to the compiled migrate module.
import { cpSync } from 'node:fs';

cpSync('src/db/migrations', 'dist/src/db/migrations', { recursive: true });
