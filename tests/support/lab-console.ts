// A console on one of the lab's amavis databases (tests/amavis-lab), with its own throwaway console
// database, so parallel test files never share accounts or settings, and a logged-in superadmin.
import { createSuperadmin } from '../../server/features/auth/auth.service.ts';
import { lab } from './amavis-lab.ts';
import { createTempDatabase } from './databases.ts';
import { type Client, logInAs } from './graphql-client.ts';
import { startTestApp, type TestApp } from './test-app.ts';

export interface LabConsole {
  app: TestApp;
  root: Client;
  close(): Promise<void>;
}

export const LAB_ROOT = { email: 'root@admin.test', password: 'lab-root-password-1' };

export async function startLabConsole(
  dialect: 'pg' | 'mysql',
  env: Record<string, string> = {},
): Promise<LabConsole> {
  const consoleDb = await createTempDatabase(dialect);
  const app = await startTestApp({
    AMAVIS_DATABASE_URL: lab[dialect === 'pg' ? 'AMAVIS_LAB_PG_URL' : 'AMAVIS_LAB_MYSQL_URL'] ?? '',
    DATABASE_URL: consoleDb.url,
    ...env,
  });
  await createSuperadmin(app.stores.console, LAB_ROOT, { onlyIfNoAccounts: false });
  return {
    app,
    root: await logInAs(app.url, LAB_ROOT.email, LAB_ROOT.password),
    close: async () => {
      await app.close();
      await consoleDb.drop();
    },
  };
}

/** Changes console settings as `client` (a superadmin), failing the test on any error. */
export async function updateSettingsAs(client: Client, settings: Record<string, unknown>): Promise<void> {
  const result = await client.gql(
    'mutation($input: UpdateSettingsInput!) { updateSettings(input: $input) { manualLearning } }',
    { input: settings },
  );
  if (result.errors) throw new Error(`updateSettings failed: ${JSON.stringify(result.errors)}`);
}
