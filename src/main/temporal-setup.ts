/**
 * `npm run temporal:setup`: prepares the Temporal cluster at TEMPORAL_ADDRESS for this project: creates
 * TEMPORAL_NAMESPACE if missing, sets its retention of closed workflows to match the deliveries' rows,
 * and registers the project's search attributes. Idempotent; run it before the first deployment, after
 * upgrades that add search attributes, and after changing RETENTION_DELIVERIES_AFTER.
 *
 *   npm run temporal:setup                        namespace retention RETENTION_DELIVERIES_AFTER (90d)
 *   npm run temporal:setup -- --retention 30d     another retention (created or updated to it)
 */
import { parseArgs } from 'node:util';
import { Connection } from '@temporalio/client';
import { formatDuration } from '../domain/duration.js';
import { temporalConnectOptions, temporalSettingsFrom } from '../temporal/connection-options.js';
import { setupCluster } from './host/setup-cluster.js';
import { startupConfig } from './startup-config.js';

const config = startupConfig('temporal-setup');
try {
  const { values } = parseArgs({ options: { retention: { type: 'string' } } });
  const connection = await Connection.connect(temporalConnectOptions(temporalSettingsFrom(config))).catch(
    (err: Error) => {
      throw new Error(`cannot reach Temporal at ${config.TEMPORAL_ADDRESS}: ${err.message}`);
    },
  );
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
