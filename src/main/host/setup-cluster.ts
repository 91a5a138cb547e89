/**
 * Prepares any Temporal cluster for this project: the namespace exists and every search attribute in `SA`
 * is registered with its type. Safe to run again and again (`npm run temporal:setup`); the dev server
 * started by the project does the same with `--search-attribute` flags, a production cluster needs this.
 */
import { isGrpcServiceError, type Connection } from '@temporalio/client';
import { SearchAttributeType } from '@temporalio/common';
import { msNumberToTs } from '@temporalio/common/lib/time.js';
// @temporalio/proto is CommonJS: Node's ESM loader only sees its default export, so no named imports.
import proto from '@temporalio/proto';
import type { temporal } from '@temporalio/proto';
import { formatDuration, parseDuration } from '../../domain/duration.js';
import { SA } from '../../domain/search-attributes.js';

type IndexedValueType = temporal.api.enums.v1.IndexedValueType;
const IVT = proto.temporal.api.enums.v1.IndexedValueType;

/** The SDK's attribute types as the server's enum; a `Record` so a new SDK type fails to compile here. */
const INDEXED_TYPE: Record<SearchAttributeType, IndexedValueType> = {
  [SearchAttributeType.KEYWORD]: IVT.INDEXED_VALUE_TYPE_KEYWORD,
  [SearchAttributeType.KEYWORD_LIST]: IVT.INDEXED_VALUE_TYPE_KEYWORD_LIST,
  [SearchAttributeType.TEXT]: IVT.INDEXED_VALUE_TYPE_TEXT,
  [SearchAttributeType.INT]: IVT.INDEXED_VALUE_TYPE_INT,
  [SearchAttributeType.DOUBLE]: IVT.INDEXED_VALUE_TYPE_DOUBLE,
  [SearchAttributeType.BOOL]: IVT.INDEXED_VALUE_TYPE_BOOL,
  [SearchAttributeType.DATETIME]: IVT.INDEXED_VALUE_TYPE_DATETIME,
};

/** gRPC status codes this module tells apart. */
const NOT_FOUND = 5;
const ALREADY_EXISTS = 6;

const DEFAULT_RETENTION = '7d';
const NAMESPACE_WAIT_MS = 30_000;
const ATTRIBUTES_WAIT_MS = 30_000;
const POLL_INTERVAL_MS = 250;

export interface SetupClusterOptions {
  connection: Connection;
  namespace: string;
  /**
   * How long closed workflows are kept, as a duration string (`"90d"`): the namespace is created with it,
   * and an existing namespace with another retention is updated to it, so Temporal's history of an event
   * lasts as long as its deliveries' rows (RETENTION_DELIVERIES_AFTER). Unset: 7d on creation, an existing
   * namespace left as it is.
   */
  retention?: string;
  /** Receives one line per action taken or found already done. */
  log?: (line: string) => void;
}

export interface SetupClusterResult {
  /** True when this run registered the namespace. */
  namespaceCreated: boolean;
  /** True when this run changed an existing namespace's retention to the one asked for. */
  retentionUpdated: boolean;
  /** Search attributes this run registered. */
  added: string[];
  /** Search attributes that were registered already, with the expected type. */
  alreadyPresent: string[];
}

/**
 * Ensures the namespace exists and every project search attribute is registered on it.
 *
 * @throws Error naming the attribute when one is registered with a different type (the cluster must be
 *   fixed by hand: the type of a registered attribute cannot change), or when the cluster does not make
 *   the namespace or attributes visible within 30 s.
 */
export async function setupCluster(opts: SetupClusterOptions): Promise<SetupClusterResult> {
  const { connection, namespace } = opts;
  const log = opts.log ?? (() => undefined);
  const retention = opts.retention ?? DEFAULT_RETENTION;
  const retentionMs = parseDuration(retention);

  const namespaceCreated = await ensureNamespace(connection, namespace, retentionMs, log);
  const retentionUpdated =
    !namespaceCreated && opts.retention !== undefined
      ? await ensureRetention(connection, namespace, retentionMs, log)
      : false;

  const wanted = new Map<string, IndexedValueType>(
    Object.values(SA).map((key) => [key.name, INDEXED_TYPE[key.type]]),
  );
  const registered = await listAttributes(connection, namespace);
  const missing = new Map<string, IndexedValueType>();
  const alreadyPresent: string[] = [];
  const present = (name: string, type: IndexedValueType) => {
    alreadyPresent.push(name);
    log(`search attribute ${name} (${typeName(type)}) already present`);
  };
  for (const [name, type] of wanted) {
    const existing = registered.get(name);
    if (existing === undefined) missing.set(name, type);
    else {
      assertSameType(namespace, name, existing, type);
      present(name, type);
    }
  }

  for (let attempt = 1; missing.size > 0; attempt++) {
    try {
      await connection.operatorService.addSearchAttributes({
        namespace,
        searchAttributes: Object.fromEntries(missing),
      });
      break;
    } catch (err) {
      if (!(isGrpcServiceError(err) && err.code === ALREADY_EXISTS) || attempt >= 3) throw err;
      // Another run added some of them meanwhile: keep those (if their type is right), add the rest.
      const now = await listAttributes(connection, namespace);
      for (const [name, type] of missing) {
        const existing = now.get(name);
        if (existing === undefined) continue;
        assertSameType(namespace, name, existing, type);
        missing.delete(name);
        present(name, type);
      }
    }
  }
  await waitForAttributes(connection, namespace, missing);
  const added: string[] = [];
  for (const [name, type] of missing) {
    added.push(name);
    log(`search attribute ${name} (${typeName(type)}) added`);
  }
  return { namespaceCreated, retentionUpdated, added, alreadyPresent };
}

/** Sets an existing namespace's retention to `retentionMs` unless it has it; true when it changed it. */
async function ensureRetention(
  connection: Connection,
  namespace: string,
  retentionMs: number,
  log: (line: string) => void,
): Promise<boolean> {
  const described = await connection.workflowService.describeNamespace({ namespace });
  const ttl = described.config?.workflowExecutionRetentionTtl;
  const currentMs = ttl ? Number(ttl.seconds ?? 0) * 1000 + Math.round((ttl.nanos ?? 0) / 1e6) : null;
  if (currentMs === retentionMs) return false;
  await connection.workflowService.updateNamespace({
    namespace,
    config: { workflowExecutionRetentionTtl: msNumberToTs(retentionMs) },
  });
  const was = currentMs === null ? 'unset' : formatDuration(currentMs);
  log(`namespace ${namespace} retention ${was} -> ${formatDuration(retentionMs)}`);
  return true;
}

/**
 * Registers the namespace unless it exists; true when this call registered it. Then waits until it is
 * served: describeNamespace reads the database and answers at once, while the other APIs (search
 * attributes, workflow starts) resolve the name through each frontend's namespace cache, which catches up
 * on its next refresh (about 10 s on the dev server).
 */
async function ensureNamespace(
  connection: Connection,
  namespace: string,
  retentionMs: number,
  log: (line: string) => void,
): Promise<boolean> {
  let created = false;
  if (!(await answers(() => connection.workflowService.describeNamespace({ namespace })))) {
    try {
      await connection.workflowService.registerNamespace({
        namespace,
        description: 'affiliate-hooks',
        workflowExecutionRetentionPeriod: msNumberToTs(retentionMs),
      });
      created = true;
    } catch (err) {
      // Registered meanwhile by someone else.
      if (!(isGrpcServiceError(err) && err.code === ALREADY_EXISTS)) throw err;
    }
  }
  const deadline = Date.now() + NAMESPACE_WAIT_MS;
  while (
    !(await answers(() => connection.workflowService.describeNamespace({ namespace }))) ||
    !(await answers(() => connection.operatorService.listSearchAttributes({ namespace })))
  ) {
    if (Date.now() > deadline) {
      throw new Error(`Namespace ${namespace} was registered but is still not served after 30 s`);
    }
    await sleep(POLL_INTERVAL_MS);
  }
  log(
    created
      ? `namespace ${namespace} created (retention ${formatDuration(retentionMs)})`
      : `namespace ${namespace} exists`,
  );
  return created;
}

/** False when the call fails with NOT_FOUND (the namespace, here); other errors propagate. */
async function answers(call: () => Promise<unknown>): Promise<boolean> {
  try {
    await call();
    return true;
  } catch (err) {
    if (isGrpcServiceError(err) && err.code === NOT_FOUND) return false;
    throw err;
  }
}

/** Custom and system attributes by name: a project attribute may clash with either. */
async function listAttributes(
  connection: Connection,
  namespace: string,
): Promise<Map<string, IndexedValueType>> {
  const res = await connection.operatorService.listSearchAttributes({ namespace });
  return new Map([
    ...Object.entries(res.systemAttributes ?? {}),
    ...Object.entries(res.customAttributes ?? {}),
  ]);
}

/** Polls until every attribute is listed (a different type, from a concurrent run, is an error). */
async function waitForAttributes(
  connection: Connection,
  namespace: string,
  expected: Map<string, IndexedValueType>,
): Promise<void> {
  const deadline = Date.now() + ATTRIBUTES_WAIT_MS;
  for (;;) {
    const registered = await listAttributes(connection, namespace);
    const pending: string[] = [];
    for (const [name, type] of expected) {
      const actual = registered.get(name);
      if (actual === undefined) pending.push(name);
      else assertSameType(namespace, name, actual, type);
    }
    if (pending.length === 0) return;
    if (Date.now() > deadline) {
      throw new Error(
        `Search attributes not visible in namespace ${namespace} after 30 s: ${pending.join(', ')}`,
      );
    }
    await sleep(POLL_INTERVAL_MS);
  }
}

function assertSameType(
  namespace: string,
  name: string,
  registered: IndexedValueType,
  wanted: IndexedValueType,
): void {
  if (registered === wanted) return;
  throw new Error(
    `Search attribute ${name} is registered in namespace ${namespace} as ${typeName(registered)}, ` +
      `but this project needs ${typeName(wanted)}. The type of a registered attribute cannot change: ` +
      `remove it (temporal operator search-attribute remove --name ${name}) or use another namespace.`,
  );
}

/** The name the CLI and Web UI use: INDEXED_VALUE_TYPE_KEYWORD_LIST -> KeywordList. */
function typeName(type: IndexedValueType): string {
  const enumName = (IVT as unknown as Record<number, string | undefined>)[type];
  if (!enumName) return `type ${type}`;
  return enumName
    .replace(/^INDEXED_VALUE_TYPE_/, '')
    .split('_')
    .map((word) => word.charAt(0) + word.slice(1).toLowerCase())
    .join('');
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
