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
    tmpDir: process.env.TEST_TMP_DIR,
  };
}
