import { Client } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';

/**
 * One NativeConnection per process, shared by the client and any worker in it: that sharing is what lets
 * the API start workflows eagerly on its own embedded worker.
 */
export async function connectTemporal(address: string): Promise<NativeConnection> {
  return NativeConnection.connect({ address });
}

export function createClient(connection: NativeConnection, namespace: string): Client {
  return new Client({ connection, namespace });
}
