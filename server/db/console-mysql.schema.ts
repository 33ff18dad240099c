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

const at = (name: string) => datetime(name, { mode: 'date', fsp: 3 });

export const accountsTable = mysqlTable('console_accounts', {
  id: int('id').autoincrement().primaryKey(),
  email: varchar('email', { length: 320 }).notNull().unique('console_accounts_email_key'),
  displayName: varchar('display_name', { length: 255 }).notNull().default(''),
  role: varchar('role', { length: 16 }).notNull(),
  passwordHash: varchar('password_hash', { length: 255 }),
  authSource: varchar('auth_source', { length: 16 }).notNull().default('local'),
  disabled: boolean('disabled').notNull().default(false),
  createdAt: createdAt(),
  lastLoginAt: at('last_login_at'),
});

export const accountAddressesTable = mysqlTable(
  'console_account_addresses',
  {
    accountId: int('account_id')
      .notNull()
      .references(() => accountsTable.id, { onDelete: 'cascade' }),
    address: varchar('address', { length: 320 }).notNull(),
    isPrimary: boolean('is_primary').notNull().default(false),
  },
  (t) => [
    primaryKey({ columns: [t.accountId, t.address] }),
    index('console_account_addresses_address_idx').on(t.address),
  ],
);

export const domainsTable = mysqlTable('console_domains', {
  id: int('id').autoincrement().primaryKey(),
  name: varchar('name', { length: 255 }).notNull().unique('console_domains_name_key'),
  createdAt: createdAt(),
});

export const domainAliasesTable = mysqlTable('console_domain_aliases', {
  id: int('id').autoincrement().primaryKey(),
  name: varchar('name', { length: 255 }).notNull().unique('console_domain_aliases_name_key'),
  domainId: int('domain_id')
    .notNull()
    .references(() => domainsTable.id, { onDelete: 'cascade' }),
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

export const sessionsTable = mysqlTable(
  'console_sessions',
  {
    id: varchar('id', { length: 64 }).primaryKey(),
    kind: varchar('kind', { length: 16 }).notNull(),
    accountId: int('account_id').references(() => accountsTable.id, { onDelete: 'cascade' }),
    partitionTag: int('partition_tag'),
    mailId: varchar('mail_id', { length: 16 }),
    recipient: varchar('recipient', { length: 320 }),
    createdAt: createdAt(),
    expiresAt: at('expires_at').notNull(),
    lastSeenAt: at('last_seen_at').notNull().default(sql`CURRENT_TIMESTAMP(3)`),
    ip: varchar('ip', { length: 64 }),
    userAgent: varchar('user_agent', { length: 255 }),
  },
  (t) => [
    index('console_sessions_account_idx').on(t.accountId),
    index('console_sessions_expires_idx').on(t.expiresAt),
  ],
);

export const apiTokensTable = mysqlTable(
  'console_api_tokens',
  {
    id: int('id').autoincrement().primaryKey(),
    accountId: int('account_id')
      .notNull()
      .references(() => accountsTable.id, { onDelete: 'cascade' }),
    name: varchar('name', { length: 100 }).notNull(),
    tokenHash: varchar('token_hash', { length: 64 }).notNull().unique('console_api_tokens_hash_key'),
    prefix: varchar('prefix', { length: 16 }).notNull(),
    access: varchar('access', { length: 16 }).notNull(),
    createdAt: createdAt(),
    expiresAt: at('expires_at'),
    lastUsedAt: at('last_used_at'),
    revokedAt: at('revoked_at'),
  },
  (t) => [index('console_api_tokens_account_idx').on(t.accountId)],
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
    outcome: varchar('outcome', { length: 16 }).notNull().default('success'),
    target: text('target').notNull(),
    domain: varchar('domain', { length: 255 }),
    detail: json('detail'),
    ip: varchar('ip', { length: 64 }),
  },
  (t) => [
    index('console_audit_log_at_idx').on(t.at),
    index('console_audit_log_actor_idx').on(t.actorAccountId, t.at),
    index('console_audit_log_domain_idx').on(t.domain, t.at),
  ],
);
