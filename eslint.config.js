// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { dirname, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));

/**
 * The determinism fence, an allowlist. Workflow code is replayed, so it may reach nothing with side effects.
 * Every import is resolved (a relative path against the importing file) before it is judged, so
 * `'../db/pool.js'` in src/domain is refused like `'../../src/db/pool.js'` is. Packages are judged by name.
 * dependency-cruiser (.dependency-cruiser.mjs) checks the same layers again, over the whole graph.
 */
const fences = [
  {
    scope: 'workflows/',
    what: 'Workflow code',
    packages: ['@temporalio/workflow'],
    folders: ['workflows/', 'src/domain/'],
    typeOnlyFolders: ['activities/'],
  },
  {
    scope: 'src/domain/',
    what: 'src/domain',
    // Temporal's typed search attribute keys; deterministic (the workflow runtime loads it itself).
    packages: ['@temporalio/common'],
    folders: ['src/domain/'],
    typeOnlyFolders: [],
  },
];

/** The path of `spec` imported from `file`, relative to the repository with `/` separators; null for a package. */
function resolvedPath(file, spec) {
  if (!spec.startsWith('.') && !spec.startsWith('/')) return null;
  return relative(root, resolve(dirname(file), spec))
    .split(sep)
    .join('/');
}

/** @type {import('eslint').Rule.RuleModule} */
const allowedImports = {
  meta: { type: 'problem', schema: [] },
  create(context) {
    const file = context.filename;
    const own = relative(root, file).split(sep).join('/');
    const fence = fences.find((f) => own.startsWith(f.scope));
    if (!fence) return {};
    const allowed = (f) =>
      `${f.what} may import only ${[...f.packages, ...f.folders, ...f.typeOnlyFolders.map((d) => `${d} (import type)`)].join(', ')}`;
    const check = (node, typeOnly) => {
      if (!node || node.type !== 'Literal' || typeof node.value !== 'string') return;
      const spec = node.value;
      const path = resolvedPath(file, spec);
      if (path === null) {
        if (fence.packages.includes(spec)) return;
        context.report({
          node,
          message: `${allowed(fence)}: '${spec}' is a package or builtin outside the list.`,
        });
        return;
      }
      if (fence.folders.some((d) => path.startsWith(d))) return;
      if (typeOnly && fence.typeOnlyFolders.some((d) => path.startsWith(d))) return;
      const hint = fence.typeOnlyFolders.some((d) => path.startsWith(d)) ? ' (use `import type`)' : '';
      context.report({ node, message: `${allowed(fence)}: '${spec}' resolves to ${path}${hint}.` });
    };
    return {
      ImportDeclaration: (node) => check(node.source, node.importKind === 'type'),
      ExportNamedDeclaration: (node) => check(node.source, node.exportKind === 'type'),
      ExportAllDeclaration: (node) => check(node.source, node.exportKind === 'type'),
      ImportExpression: (node) => check(node.source, false),
      TSImportType: (node) => check(node.argument?.literal ?? node.argument, true),
    };
  },
};

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.data/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2022, sourceType: 'module' },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: ['workflows/**/*.ts', 'src/domain/**/*.ts'],
    plugins: { determinism: { rules: { 'allowed-imports': allowedImports } } },
    rules: { 'determinism/allowed-imports': 'error' },
  },
  {
    // Tests read arbitrary JSON answers.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['scripts/**/*.mjs', 'eslint.config.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
