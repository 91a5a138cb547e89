/** What test/run.ts provides to every integration test file. */
export function testEnv() {
  const required = [
    'DATABASE_URL',
    'TEMPORAL_ADDRESS',
    'TEMPORAL_WORKFLOW_BUNDLE',
    'ADMIN_TOKEN',
    'SECRETS_ENCRYPTION_KEYS',
  ] as const;
  const missing = required.filter((k) => !process.env[k]);
  if (missing.length) {
    throw new Error(`integration tests need ${missing.join(', ')}: run them through \`npm test\``);
  }
  return {
    databaseUrl: process.env.DATABASE_URL!,
    temporalAddress: process.env.TEMPORAL_ADDRESS!,
    workflowBundle: process.env.TEMPORAL_WORKFLOW_BUNDLE!,
    adminToken: process.env.ADMIN_TOKEN!,
    encryptionKeys: process.env.SECRETS_ENCRYPTION_KEYS!.split(','),
    temporalCli: process.env.TEMPORAL_CLI,
    /** The dev server's Web UI (http://127.0.0.1:<port>). */
    temporalUiUrl: process.env.TEMPORAL_UI_URL,
    /** Chromium for the browser test, found or installed by test/run.ts. */
    chromiumPath: process.env.CHROMIUM_PATH,
    tmpDir: process.env.TEST_TMP_DIR,
  };
}
