// The console's own tables (MySQL/MariaDB). Keep in step with console-pg.schema.ts.
import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  datetime,
  index,
  int,
  json,
  mysqlTable,
  primaryKey,
  text,
  varchar,
} from 'drizzle-orm/mysql-core';

const createdAt = () =>
  datetime('created_at', { mode: 'date', fsp: 3 }).notNull().default(sql`CURRENT_TIMESTAMP(3)`);

export const accountsTable = mysqlTable('console_accounts', {
  id: int('id').autoincrement().primaryKey(),
  email: varchar('email', { length: 320 }).notNull().unique('console_accounts_email_key'),
  displayName: varchar('display_name', { length: 255 }).notNull().default(''),
  role: varchar('role', { length: 16 }).notNull(),
  passwordHash: varchar('password_hash', { length: 255 }),
  disabled: boolean('disabled').notNull().default(false),
  createdAt: createdAt(),
});

export const domainsTable = mysqlTable('console_domains', {
  id: int('id').autoincrement().primaryKey(),
  name: varchar('name', { length: 255 }).notNull().unique('console_domains_name_key'),
  createdAt: createdAt(),
});

export const domainAdminsTable = mysqlTable(
  'console_domain_admins',
  {
    accountId: int('account_id')
      .notNull()
      .references(() => accountsTable.id, { onDelete: 'cascade' }),
    domainId: int('domain_id')
      .notNull()
      .references(() => domainsTable.id, { onDelete: 'cascade' }),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.domainId] })],
);

export const settingsTable = mysqlTable('console_settings', {
  key: varchar('key', { length: 64 }).primaryKey(),
  value: json('value').notNull(),
  updatedAt: datetime('updated_at', { mode: 'date', fsp: 3 }).notNull().default(sql`CURRENT_TIMESTAMP(3)`),
});

export const auditLogTable = mysqlTable(
  'console_audit_log',
  {
    id: bigint('id', { mode: 'number' }).autoincrement().primaryKey(),
    at: datetime('at', { mode: 'date', fsp: 3 }).notNull().default(sql`CURRENT_TIMESTAMP(3)`),
    actorAccountId: int('actor_account_id'),
    actor: varchar('actor', { length: 320 }).notNull(),
    action: varchar('action', { length: 64 }).notNull(),
    target: text('target').notNull(),
    detail: json('detail'),
    ip: varchar('ip', { length: 64 }),
  },
  (t) => [
    index('console_audit_log_at_idx').on(t.at),
    index('console_audit_log_actor_idx').on(t.actorAccountId),
  ],
);
