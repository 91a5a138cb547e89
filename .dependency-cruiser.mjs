// @ts-check
/**
 * The architecture, as rules `npm run lint` checks (dependency-cruiser over src/, activities/ and workflows/).
 *
 * Layers, bottom to top; a module may import its own layer and the layers below it, never one above:
 *
 *   1. src/domain                      pure rules; imports only src/domain
 *   1b. src/contract                   the public wire shapes (zod): event envelope, building blocks
 *   2. src/log.ts, src/fault.ts, src/config.ts, src/errors.ts, src/body-hash.ts, src/cidr.ts,
 *      src/config/ (settings by area), src/metrics.ts (the Prometheus registry),
 *      src/encryption-key.ts, src/db (all SQL lives here)
 *   3. src/delivery, src/commission    mechanics
 *   4. activities/                     what they need from above comes as ports (activities/ports.ts)
 *   5. workflows/                      only @temporalio/workflow, src/domain, workflows/ and activity types
 *   6. src/temporal                    client side: start, signals, updates, task queues, timeouts
 *   7. src/ingest                      use cases
 *   8. src/api                         routes (thin), schemas, HTTP plumbing
 *   9. src/main                        composition root; its host/ (the Temporal host side) is for src/main alone
 *
 * Apart: console/, the browser pages (Preact) that call the REST API over HTTP; they import no server code.
 *
 * There is no list of known exceptions: a new cycle or upward import fails `npm run lint`
 * (test/unit/architecture.test.ts plants some and checks that it does).
 */

/** Layers, bottom first: [name, path regex]. */
const LAYERS = [
  ['domain', '^src/domain/'],
  ['contract', '^src/contract/'],
  [
    'base',
    '^src/(log|fault|config|errors|body-hash|cidr|encryption-key|pem|metrics)[.]ts$|^src/(db|config)/',
  ],
  ['mechanics', '^src/(delivery|commission)/'],
  ['activities', '^activities/'],
  ['workflows', '^workflows/'],
  ['temporal-client', '^src/temporal/'],
  ['ingest', '^src/ingest/'],
  ['api', '^src/api/'],
  ['main', '^src/main/'],
];

/** The host side of Temporal (worker, activities' wiring, runtime, dev server, CLI, cluster setup): src/main's alone. */
const HOST = '^src/main/host/';

/** @type {import('dependency-cruiser').IForbiddenRuleType[]} */
const upward = LAYERS.flatMap(([name, path], i) => {
  const above = LAYERS.slice(i + 1).map(([, p]) => `(${p})`);
  if (!above.length) return [];
  return [
    {
      name: `no-upward-from-${name}`,
      comment: `${name} (${path}) imports a higher layer; see the layer list in .dependency-cruiser.mjs and the README.`,
      severity: 'error',
      from: { path },
      to: { path: above.join('|') },
    },
  ];
});

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'An import cycle: the modules in it cannot be read, tested or layered one at a time.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    ...upward,
    {
      name: 'domain-imports-only-domain',
      comment:
        'src/domain is pure: it imports only src/domain and @temporalio/common (search attribute keys), no other package, builtin or folder.',
      severity: 'error',
      from: { path: '^src/domain/' },
      to: { pathNot: '^(src/domain/|node_modules/@temporalio/common/)' },
    },
    {
      name: 'workflows-allowlist',
      comment:
        'Workflows import only @temporalio/workflow, src/domain, other workflows, and activities as types.',
      severity: 'error',
      from: { path: '^workflows/' },
      to: { pathNot: '^(workflows/|src/domain/|activities/|node_modules/@temporalio/workflow/)' },
    },
    {
      name: 'workflows-import-activity-types-only',
      comment:
        'Workflows reach activities through proxyActivities; they import them with `import type` only.',
      severity: 'error',
      from: { path: '^workflows/' },
      to: { path: '^activities/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'temporal-host-only-from-main',
      comment: 'The host side of Temporal (worker, runtime, dev server, CLI, setup) is for src/main alone.',
      severity: 'error',
      from: { pathNot: '^src/main/' },
      to: { path: HOST },
    },
    {
      name: 'temporal-client-not-activities',
      comment: 'The client side of src/temporal never imports activities: they are handed in by src/main.',
      severity: 'error',
      from: { path: '^src/temporal/' },
      to: { path: '^activities/' },
    },
    {
      name: 'console-calls-only-the-api',
      comment:
        'The console (console/) is a browser bundle on the REST API: it imports only console/ and preact, never the server code.',
      severity: 'error',
      from: { path: '^console/' },
      to: { pathNot: '^(console/|node_modules/preact/)' },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import that resolves to nothing.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|[.]data)/' },
    tsPreCompilationDeps: true,
    preserveSymlinks: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
  },
};
