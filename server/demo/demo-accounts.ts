// Demo logins for the embedded demo: one account per role over the demo quarantine's domains. The
// passwords are public (README.md); the embedded demo listens on 127.0.0.1 unless told otherwise.
import { eq } from 'drizzle-orm';
import { hashPassword } from '../access/passwords.ts';
import type { ConsoleStore } from '../db/stores.ts';

export interface DemoLogin {
  email: string;
  password: string;
  role: 'superadmin' | 'domainadmin' | 'user';
  sees: string;
}

export const DEMO_LOGINS: readonly DemoLogin[] = [
  { email: 'admin@example.com', password: 'demo-admin-password', role: 'superadmin', sees: 'everything' },
  {
    email: 'postmaster@example.com',
    password: 'demo-postmaster-password',
    role: 'domainadmin',
    sees: 'example.com and example.org',
  },
  {
    email: 'alice@example.com',
    password: 'demo-alice-password',
    role: 'user',
    sees: "alice@example.com's mail",
  },
];

const DEMO_DOMAINS = ['example.com', 'example.org', 'shop.example.net', 'xn--bcher-kva.example'];
const ADMINISTERED = ['example.com', 'example.org'];

export async function seedDemoAccounts(store: ConsoleStore): Promise<readonly DemoLogin[]> {
  const { db } = store.connection;
  const { accountsTable, accountAddressesTable, domainsTable, domainAdminsTable } = store.t;
  await db.transaction(async (tx) => {
    await tx.insert(domainsTable).values(DEMO_DOMAINS.map((name) => ({ name })));
    for (const login of DEMO_LOGINS) {
      await tx.insert(accountsTable).values({
        email: login.email,
        role: login.role,
        passwordHash: await hashPassword(login.password),
        displayName: login.email.split('@')[0] ?? '',
      });
      const [account] = await tx
        .select({ id: accountsTable.id })
        .from(accountsTable)
        .where(eq(accountsTable.email, login.email));
      if (!account) throw new Error(`demo account ${login.email} was not stored`);
      await tx
        .insert(accountAddressesTable)
        .values({ accountId: account.id, address: login.email, isPrimary: true });
      if (login.role === 'domainadmin') {
        const domains = await tx.select().from(domainsTable);
        await tx
          .insert(domainAdminsTable)
          .values(
            domains
              .filter((d) => ADMINISTERED.includes(d.name))
              .map((d) => ({ accountId: account.id, domainId: d.id })),
          );
      }
    }
  });
  return DEMO_LOGINS;
}
