import type { Client } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import { temporalConnectOptions, type TemporalConnectionSettings } from './connection-options.js';
import { connectTemporal, createClient } from './connection.js';
import { tlsRefusal } from './tls-probe.js';
import { boundedWait } from './timeout.js';

/**
 * A lazily made, shared Temporal connection and client. The API boots and answers (503 where Temporal is
 * needed) even while Temporal is down, and connects on first use; a failed attempt is retried next time.
 */
export class TemporalGateway {
  private pending: Promise<{ connection: NativeConnection; client: Client }> | undefined;

  constructor(
    private readonly target: string | TemporalConnectionSettings,
    private readonly namespace: string,
  ) {}

  /** Why connecting cannot succeed by waiting (a TLS refusal), or null. */
  async refusal(): Promise<Error | null> {
    return tlsRefusal(
      temporalConnectOptions(typeof this.target === 'string' ? { address: this.target } : this.target),
    );
  }

  private connect() {
    if (!this.pending) {
      this.pending = connectTemporal(this.target).then(
        (connection) => ({ connection, client: createClient(connection, this.namespace) }),
        (err: unknown) => {
          this.pending = undefined;
          throw err;
        },
      );
    }
    return this.pending;
  }

  async client(): Promise<Client> {
    return (await this.connect()).client;
  }

  async connection(): Promise<NativeConnection> {
    return (await this.connect()).connection;
  }

  /** True when the namespace answers within a second. */
  async ready(): Promise<boolean> {
    try {
      const client = await boundedWait(this.client(), 1_000, 'the connection');
      await boundedWait(
        client.withDeadline(Date.now() + 1_000, () =>
          client.workflowService.describeNamespace({ namespace: this.namespace }),
        ),
        1_000,
        'describeNamespace',
      );
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    const pending = this.pending;
    this.pending = undefined;
    if (pending) await (await pending.catch(() => undefined))?.connection.close();
  }
}

/**
 * Resolves once connected, retrying every intervalMs; rejects when the signal aborts, or at once when the
 * server refused this process's TLS (a certificate problem that waiting does not cure).
 */
export async function connectWithRetry(
  gateway: TemporalGateway,
  onRetry: (err: Error) => void,
  signal?: AbortSignal,
  intervalMs = 2_000,
): Promise<NativeConnection> {
  for (;;) {
    try {
      return await gateway.connection();
    } catch (err) {
      if (signal?.aborted) throw err;
      const refused = await gateway.refusal();
      if (refused) throw refused;
      onRetry(err as Error);
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
}
