import { Client } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { temporalConnectOptions, type TemporalConnectionSettings } from './connection-options.js';

/**
 * One NativeConnection per process, shared by the client and any worker in it: that sharing is what lets
 * the API start workflows eagerly on its own embedded worker.
 */
export async function connectTemporal(
  target: string | TemporalConnectionSettings,
): Promise<NativeConnection> {
  return NativeConnection.connect(
    temporalConnectOptions(typeof target === 'string' ? { address: target } : target),
  );
}

export function createClient(connection: NativeConnection, namespace: string): Client {
  return new Client({ connection, namespace });
}
