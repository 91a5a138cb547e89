/**
 * `npm run temporal`: only the Temporal server (with Web UI and the project's search attributes), for
 * running the API and worker yourself.
 *
 *   npm run temporal                          the CLI's dev server; state in .data/temporal.sqlite
 *   npm run temporal -- --temporal=postgres   the full server on the local PostgreSQL (DATABASE_URL's server)
 */
import { join } from 'node:path';
import { startLocalTemporal, temporalModeFrom } from './host/local-temporal.js';
import { startupConfig } from './startup-config.js';

const say = (line: string) => console.log(`temporal: ${line}`);
const config = startupConfig('temporal');
const server = await startLocalTemporal({
  mode: temporalModeFrom(process.argv.slice(2)),
  address: config.TEMPORAL_ADDRESS,
  namespace: config.TEMPORAL_NAMESPACE,
  uiUrl: config.TEMPORAL_UI_URL,
  metricsPort: config.TEMPORAL_SERVER_METRICS_PORT,
  databaseUrl: config.DATABASE_URL,
  dataDir: join(import.meta.dirname, '..', '..', '.data'),
  say,
});
say(`${server.description}; Web UI ${config.TEMPORAL_UI_URL}; Ctrl-C stops it`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => void server.stop().then(() => process.exit(0)));
}
