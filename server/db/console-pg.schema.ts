// The console's own tables (PostgreSQL and PGlite). Prefixed so they never meet amavisd's
// `users`/`policy` when both live in one database. Keep in step with console-mysql.schema.ts.
import { sql } from 'drizzle-orm';
import {
  bigserial,
  boolean,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  serial,
  text,
  timestamp,
  varchar,
} from 'drizzle-orm/pg-core';

const createdAt = () => timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow();

export const accountsTable = pgTable('console_accounts', {
  id: serial('id').primaryKey(),
  email: varchar('email', { length: 320 }).notNull().unique('console_accounts_email_key'),
  displayName: varchar('display_name', { length: 255 }).notNull().default(''),
  role: varchar('role', { length: 16 }).notNull(),
  passwordHash: varchar('password_hash', { length: 255 }),
  disabled: boolean('disabled').notNull().default(false),
  createdAt: createdAt(),
});

export const domainsTable = pgTable('console_domains', {
  id: serial('id').primaryKey(),
  name: varchar('name', { length: 255 }).notNull().unique('console_domains_name_key'),
  createdAt: createdAt(),
});

export const domainAdminsTable = pgTable(
  'console_domain_admins',
  {
    accountId: integer('account_id')
      .notNull()
      .references(() => accountsTable.id, { onDelete: 'cascade' }),
    domainId: integer('domain_id')
      .notNull()
      .references(() => domainsTable.id, { onDelete: 'cascade' }),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.domainId] })],
);

export const settingsTable = pgTable('console_settings', {
  key: varchar('key', { length: 64 }).primaryKey(),
  value: jsonb('value').notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
});

export const auditLogTable = pgTable(
  'console_audit_log',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    at: timestamp('at', { withTimezone: true, mode: 'date' }).notNull().default(sql`now()`),
    actorAccountId: integer('actor_account_id'),
    actor: varchar('actor', { length: 320 }).notNull(),
    action: varchar('action', { length: 64 }).notNull(),
    target: text('target').notNull().default(''),
    detail: jsonb('detail'),
    ip: varchar('ip', { length: 64 }),
  },
  (t) => [
    index('console_audit_log_at_idx').on(t.at),
    index('console_audit_log_actor_idx').on(t.actorAccountId),
  ],
);
