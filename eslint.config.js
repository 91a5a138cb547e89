// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

/** Node builtins in both spellings: `fs` and `node:fs`. */
const nodeBuiltins = builtinModules.flatMap((name) => [name, `node:${name}`]);

/**
 * The determinism fence. Workflow code is replayed, so it may reach nothing with side effects:
 * no Node builtins, no database or HTTP libraries, and activities only as types.
 */
const workflowFence = {
  paths: [
    ...nodeBuiltins.map((name) => ({ name, message: 'Workflow code must not use Node builtins.' })),
    ...['pg', 'express', 'undici', 'pino', 'zod'].map((name) => ({
      name,
      message: 'Workflow code must stay deterministic: side-effecting libraries belong in activities.',
    })),
  ],
  patterns: [
    {
      group: ['**/activities', '**/activities/**'],
      allowTypeImports: true,
      message: 'Import activities into workflows with `import type` and proxyActivities only.',
    },
    {
      group: ['**/src/db/**', '**/src/api/**', '**/src/main/**', '**/src/ingest/**', '**/src/temporal/**'],
      message: 'Workflows may import only @temporalio/workflow, src/domain and activity types.',
    },
  ],
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
    rules: { 'no-restricted-imports': ['error', workflowFence] },
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
