/**
 * `npm run temporal`: only the Temporal dev server (with Web UI and the project's search attributes), for
 * running the API and worker yourself. State lives in .data/temporal.sqlite.
 */
import { join } from 'node:path';
import { ensureTemporalCli } from './host/cli.js';
import { startDevServer } from './host/dev-server.js';
import { startupConfig } from './startup-config.js';

const say = (line: string) => console.log(`temporal: ${line}`);
const config = startupConfig('temporal');
const [host, port] = config.TEMPORAL_ADDRESS.split(':');
const dataDir = join(import.meta.dirname, '..', '..', '.data');
const server = await startDevServer({
  cliPath: await ensureTemporalCli(say),
  ip: host,
  port: Number(port),
  uiPort: Number(new URL(config.TEMPORAL_UI_URL).port || 8233),
  dbFile: join(dataDir, 'temporal.sqlite'),
  namespace: config.TEMPORAL_NAMESPACE,
  logFile: join(dataDir, 'temporal.log'),
  metricsPort: config.TEMPORAL_SERVER_METRICS_PORT,
  onProgress: say,
});
say(`frontend ${server.address}, Web UI ${server.uiUrl}; Ctrl-C stops it`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => void server.stop().then(() => process.exit(0)));
}
