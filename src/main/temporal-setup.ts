/**
 * `npm run temporal:setup`: prepares the Temporal cluster at TEMPORAL_ADDRESS for this project: creates
 * TEMPORAL_NAMESPACE if missing, sets its retention of closed workflows to match the deliveries' rows,
 * and registers the project's search attributes. Idempotent; run it before the first deployment, after
 * upgrades that add search attributes, and after changing RETENTION_DELIVERIES_AFTER.
 *
 *   npm run temporal:setup                        namespace retention RETENTION_DELIVERIES_AFTER (90d)
 *   npm run temporal:setup -- --retention 30d     another retention (created or updated to it)
 *
 * A cluster that is still starting (the compose stack's server, `npm run dev -- --temporal=postgres`) is
 * waited for, up to 2 minutes, so the job can run as soon as the frontend's port is open.
 */
import { parseArgs } from 'node:util';
import { Connection } from '@temporalio/client';
import { formatDuration } from '../domain/duration.js';
import { temporalConnectOptions, temporalSettingsFrom } from '../temporal/connection-options.js';
import { tlsRefusal } from '../temporal/tls-probe.js';
import { setupCluster } from './host/setup-cluster.js';
import { startupConfig } from './startup-config.js';

const config = startupConfig('temporal-setup');
try {
  const { values } = parseArgs({ options: { retention: { type: 'string' } } });
  const connection = await connectWhenServing();
  try {
    const result = await setupCluster({
      connection,
      namespace: config.TEMPORAL_NAMESPACE,
      retention: values.retention ?? formatDuration(config.RETENTION_DELIVERIES_AFTER),
      log: (line) => console.log(line),
    });
    console.log(
      `done: ${result.added.length} search attributes added, ${result.alreadyPresent.length} already present`,
    );
  } finally {
    await connection.close();
  }
  process.exitCode = 0;
} catch (err) {
  console.error(`temporal:setup failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}

/**
 * Connects once the frontend answers, retrying for up to 2 minutes (a cluster that is still starting); a
 * TLS refusal ends it at once.
 */
async function connectWhenServing(): Promise<Connection> {
  const deadline = Date.now() + 120_000;
  const options = temporalConnectOptions(temporalSettingsFrom(config));
  for (let told = 0; ; told++) {
    try {
      return await Connection.connect({ ...options, connectTimeout: 5_000 });
    } catch (err) {
      const refused = await tlsRefusal(options);
      if (refused) throw refused;
      if (Date.now() > deadline)
        throw new Error(`cannot reach Temporal at ${config.TEMPORAL_ADDRESS}: ${(err as Error).message}`);
      if (told % 10 === 0) console.log(`waiting for Temporal at ${config.TEMPORAL_ADDRESS}`);
      await new Promise((r) => setTimeout(r, 2_000));
    }
  }
}
