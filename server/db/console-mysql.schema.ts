// The console's own tables (MySQL/MariaDB). Keep in step with console-pg.schema.ts.
import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  datetime,
  foreignKey,
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

export const releaseRequestsTable = mysqlTable(
  'console_release_requests',
  {
    id: int('id').autoincrement().primaryKey(),
    partitionTag: int('partition_tag').notNull(),
    mailId: varchar('mail_id', { length: 16 }).notNull(),
    rseqnum: int('rseqnum').notNull(),
    recipient: varchar('recipient', { length: 320 }).notNull(),
    recipientDomain: varchar('recipient_domain', { length: 255 }).notNull(),
    subject: varchar('subject', { length: 255 }).notNull().default(''),
    sender: varchar('sender', { length: 320 }).notNull().default(''),
    contentCode: varchar('content_code', { length: 1 }).notNull().default(''),
    status: varchar('status', { length: 16 }).notNull(),
    pendingKey: varchar('pending_key', { length: 64 }).unique('console_release_requests_pending_key'),
    requestedByAccountId: int('requested_by_account_id'),
    requestedBy: varchar('requested_by', { length: 320 }).notNull(),
    notifyAddress: varchar('notify_address', { length: 320 }).notNull(),
    createdAt: createdAt(),
    decidedByAccountId: int('decided_by_account_id'),
    decidedBy: varchar('decided_by', { length: 320 }),
    decidedAt: at('decided_at'),
    reason: text('reason'),
  },
  (t) => [
    index('console_release_requests_status_idx').on(t.status, t.recipientDomain, t.createdAt),
    index('console_release_requests_entry_idx').on(t.partitionTag, t.mailId, t.rseqnum),
    index('console_release_requests_requester_idx').on(t.requestedByAccountId, t.createdAt),
    // MariaDB allows 64-character identifiers; drizzle's generated names are longer
    foreignKey({
      name: 'console_release_requests_requester_fk',
      columns: [t.requestedByAccountId],
      foreignColumns: [accountsTable.id],
    }).onDelete('set null'),
    foreignKey({
      name: 'console_release_requests_decider_fk',
      columns: [t.decidedByAccountId],
      foreignColumns: [accountsTable.id],
    }).onDelete('set null'),
  ],
);

export const domainReleaseRulesTable = mysqlTable(
  'console_domain_release_rules',
  {
    domainId: int('domain_id')
      .notNull()
      .references(() => domainsTable.id, { onDelete: 'cascade' }),
    contentKind: varchar('content_kind', { length: 16 }).notNull(),
    permission: varchar('permission', { length: 16 }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.domainId, t.contentKind] })],
);

export const leasesTable = mysqlTable('console_leases', {
  name: varchar('name', { length: 64 }).primaryKey(),
  holder: varchar('holder', { length: 128 }).notNull(),
  acquiredAt: at('acquired_at').notNull(),
  expiresAt: at('expires_at').notNull(),
});

export const generationsTable = mysqlTable('console_generations', {
  name: varchar('name', { length: 64 }).primaryKey(),
  value: bigint('value', { mode: 'number' }).notNull(),
});

export const jobRunsTable = mysqlTable(
  'console_job_runs',
  {
    id: int('id').autoincrement().primaryKey(),
    job: varchar('job', { length: 32 }).notNull(),
    origin: varchar('origin', { length: 16 }).notNull(),
    startedBy: varchar('started_by', { length: 320 }),
    holder: varchar('holder', { length: 128 }).notNull(),
    dryRun: boolean('dry_run').notNull().default(false),
    startedAt: at('started_at').notNull(),
    finishedAt: at('finished_at'),
    outcome: varchar('outcome', { length: 16 }).notNull(),
    counts: json('counts'),
    error: text('error'),
  },
  (t) => [index('console_job_runs_job_idx').on(t.job, t.startedAt)],
);

export const userPreferencesTable = mysqlTable('console_user_preferences', {
  accountId: int('account_id')
    .primaryKey()
    .references(() => accountsTable.id, { onDelete: 'cascade' }),
  pageSize: int('page_size'),
  language: varchar('language', { length: 16 }),
  timeZone: varchar('time_zone', { length: 64 }),
  digestEnabled: boolean('digest_enabled').notNull().default(false),
  digestFrequency: varchar('digest_frequency', { length: 16 }).notNull().default('daily'),
  digestMinute: int('digest_minute').notNull().default(480),
  digestWeekday: int('digest_weekday'),
  lastDigestAt: at('last_digest_at'),
  nextDigestAt: at('next_digest_at'),
});

export const actionTokensTable = mysqlTable(
  'console_action_tokens',
  {
    id: varchar('id', { length: 64 }).primaryKey(),
    accountId: int('account_id').references(() => accountsTable.id, { onDelete: 'cascade' }),
    partitionTag: int('partition_tag').notNull(),
    mailId: varchar('mail_id', { length: 16 }).notNull(),
    rseqnum: int('rseqnum').notNull(),
    recipient: varchar('recipient', { length: 320 }).notNull(),
    action: varchar('action', { length: 16 }).notNull(),
    createdAt: createdAt(),
    expiresAt: at('expires_at').notNull(),
    usedAt: at('used_at'),
    usedIp: varchar('used_ip', { length: 64 }),
  },
  (t) => [index('console_action_tokens_expires_idx').on(t.expiresAt)],
);

export const senderListEntriesTable = mysqlTable(
  'console_sender_list_entries',
  {
    // 191 × utf8mb4 keeps the two-column primary key within InnoDB's 3072-byte limit
    owner: varchar('owner', { length: 191 }).notNull(),
    sender: varchar('sender', { length: 191 }).notNull(),
    createdByAccountId: int('created_by_account_id'),
    createdBy: varchar('created_by', { length: 320 }).notNull(),
    createdAt: createdAt(),
    expiresAt: at('expires_at'),
  },
  (t) => [
    primaryKey({ columns: [t.owner, t.sender] }),
    index('console_sender_list_entries_expires_idx').on(t.expiresAt),
  ],
);

export const quarantineEventsTable = mysqlTable(
  'console_quarantine_events',
  {
    id: bigint('id', { mode: 'number' }).autoincrement().primaryKey(),
    at: datetime('at', { mode: 'date', fsp: 3 }).notNull().default(sql`CURRENT_TIMESTAMP(3)`),
    kind: varchar('kind', { length: 32 }).notNull(),
    partitionTag: int('partition_tag').notNull(),
    mailId: varchar('mail_id', { length: 16 }).notNull(),
    rseqnum: int('rseqnum').notNull(),
    recipient: varchar('recipient', { length: 320 }).notNull(),
    recipientDomain: varchar('recipient_domain', { length: 255 }).notNull(),
    status: varchar('status', { length: 1 }),
    actor: varchar('actor', { length: 320 }),
  },
  (t) => [index('console_quarantine_events_at_idx').on(t.at)],
);
