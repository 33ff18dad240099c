// The console's own tables (PostgreSQL and PGlite). Prefixed so they never meet amavisd's
// `users`/`policy` when both live in one database. Keep in step with console-mysql.schema.ts.
import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  foreignKey,
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

const at = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

export const accountsTable = pgTable('console_accounts', {
  id: serial('id').primaryKey(),
  /** The login name: normalised, lowercase. */
  email: varchar('email', { length: 320 }).notNull().unique('console_accounts_email_key'),
  displayName: varchar('display_name', { length: 255 }).notNull().default(''),
  /** 'superadmin' | 'domainadmin' | 'user' */
  role: varchar('role', { length: 16 }).notNull(),
  /** argon2id; null for accounts that only log in through IMAP. */
  passwordHash: varchar('password_hash', { length: 255 }),
  /** 'local' | 'imap' */
  authSource: varchar('auth_source', { length: 16 }).notNull().default('local'),
  disabled: boolean('disabled').notNull().default(false),
  createdAt: createdAt(),
  lastLoginAt: at('last_login_at'),
});

/** The mail addresses an account owns: its primary address and aliases (whose quarantine it sees). */
export const accountAddressesTable = pgTable(
  'console_account_addresses',
  {
    accountId: integer('account_id')
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

export const domainsTable = pgTable('console_domains', {
  id: serial('id').primaryKey(),
  name: varchar('name', { length: 255 }).notNull().unique('console_domains_name_key'),
  createdAt: createdAt(),
});

export const domainAliasesTable = pgTable('console_domain_aliases', {
  id: serial('id').primaryKey(),
  name: varchar('name', { length: 255 }).notNull().unique('console_domain_aliases_name_key'),
  domainId: integer('domain_id')
    .notNull()
    .references(() => domainsTable.id, { onDelete: 'cascade' }),
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

/** Browser sessions. The id is the SHA-256 of the cookie's secret, never the secret itself. */
export const sessionsTable = pgTable(
  'console_sessions',
  {
    id: varchar('id', { length: 64 }).primaryKey(),
    /** 'account' | 'selfService' */
    kind: varchar('kind', { length: 16 }).notNull(),
    accountId: integer('account_id').references(() => accountsTable.id, { onDelete: 'cascade' }),
    /** For self-service sessions: the one (message, recipient) they may act on. */
    partitionTag: integer('partition_tag'),
    mailId: varchar('mail_id', { length: 16 }),
    recipient: varchar('recipient', { length: 320 }),
    createdAt: createdAt(),
    expiresAt: at('expires_at').notNull(),
    lastSeenAt: at('last_seen_at').notNull().defaultNow(),
    ip: varchar('ip', { length: 64 }),
    userAgent: varchar('user_agent', { length: 255 }),
  },
  (t) => [
    index('console_sessions_account_idx').on(t.accountId),
    index('console_sessions_expires_idx').on(t.expiresAt),
  ],
);

/** API tokens for scripts. Only a SHA-256 of the secret is kept; the secret is shown once. */
export const apiTokensTable = pgTable(
  'console_api_tokens',
  {
    id: serial('id').primaryKey(),
    accountId: integer('account_id')
      .notNull()
      .references(() => accountsTable.id, { onDelete: 'cascade' }),
    name: varchar('name', { length: 100 }).notNull(),
    tokenHash: varchar('token_hash', { length: 64 }).notNull().unique('console_api_tokens_hash_key'),
    /** The first characters of the token, to recognise it in lists. */
    prefix: varchar('prefix', { length: 16 }).notNull(),
    /** 'full' | 'read' */
    access: varchar('access', { length: 16 }).notNull(),
    createdAt: createdAt(),
    expiresAt: at('expires_at'),
    lastUsedAt: at('last_used_at'),
    revokedAt: at('revoked_at'),
  },
  (t) => [index('console_api_tokens_account_idx').on(t.accountId)],
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
    /** 'success' | 'denied' | 'failure' */
    outcome: varchar('outcome', { length: 16 }).notNull().default('success'),
    target: text('target').notNull().default(''),
    /** The mail domain the entry concerns, so domain admins see their domains' entries. */
    domain: varchar('domain', { length: 255 }),
    detail: jsonb('detail'),
    ip: varchar('ip', { length: 64 }),
  },
  (t) => [
    index('console_audit_log_at_idx').on(t.at),
    index('console_audit_log_actor_idx').on(t.actorAccountId, t.at),
    index('console_audit_log_domain_idx').on(t.domain, t.at),
  ],
);

/**
 * Release requests: a user asked, an admin decides. amavisd's msgrcpt.rs shows 'p' while one is
 * pending (what other tools read); the workflow itself lives here. `pendingKey` is the entry's key
 * while pending and null after, so its unique index allows one pending request per entry on both
 * databases (MariaDB has no partial indexes) and makes a second request a no-op.
 */
export const releaseRequestsTable = pgTable(
  'console_release_requests',
  {
    id: serial('id').primaryKey(),
    partitionTag: integer('partition_tag').notNull(),
    mailId: varchar('mail_id', { length: 16 }).notNull(),
    rseqnum: integer('rseqnum').notNull(),
    recipient: varchar('recipient', { length: 320 }).notNull(),
    /** The recipient's domain, lowercase: which domain admins see the request. */
    recipientDomain: varchar('recipient_domain', { length: 255 }).notNull(),
    subject: varchar('subject', { length: 255 }).notNull().default(''),
    sender: varchar('sender', { length: 320 }).notNull().default(''),
    contentCode: varchar('content_code', { length: 1 }).notNull().default(''),
    /** 'pending' | 'approving' | 'approved' | 'denied' | 'expired' | 'cancelled' */
    status: varchar('status', { length: 16 }).notNull(),
    pendingKey: varchar('pending_key', { length: 64 }).unique('console_release_requests_pending_key'),
    requestedByAccountId: integer('requested_by_account_id'),
    requestedBy: varchar('requested_by', { length: 320 }).notNull(),
    /** Where the outcome is mailed. */
    notifyAddress: varchar('notify_address', { length: 320 }).notNull(),
    createdAt: createdAt(),
    decidedByAccountId: integer('decided_by_account_id'),
    decidedBy: varchar('decided_by', { length: 320 }),
    decidedAt: at('decided_at'),
    /** Why it was denied (shown and mailed to the requester), or why a release failed. */
    reason: text('reason'),
  },
  (t) => [
    index('console_release_requests_status_idx').on(t.status, t.recipientDomain, t.createdAt),
    index('console_release_requests_entry_idx').on(t.partitionTag, t.mailId, t.rseqnum),
    index('console_release_requests_requester_idx').on(t.requestedByAccountId, t.createdAt),
    // named: drizzle's generated names pass the 63/64-character identifier limits
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

/** What users may do with each verdict in one domain, within the global rules (settings). */
export const domainReleaseRulesTable = pgTable(
  'console_domain_release_rules',
  {
    domainId: integer('domain_id')
      .notNull()
      .references(() => domainsTable.id, { onDelete: 'cascade' }),
    /** A content kind (clean, spam, virus, banned, …). */
    contentKind: varchar('content_kind', { length: 16 }).notNull(),
    /** 'release' | 'request' | 'none' */
    permission: varchar('permission', { length: 16 }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.domainId, t.contentKind] })],
);

/**
 * Leases: which replica runs a job or watches amavisd's tables. A row per name; a replica holds it
 * until `expiresAt` and renews it while working, so a dead replica's lease simply runs out. A table
 * rather than advisory locks because pooled connections (and PGlite) cannot keep a session lock.
 */
export const leasesTable = pgTable('console_leases', {
  name: varchar('name', { length: 64 }).primaryKey(),
  holder: varchar('holder', { length: 128 }).notNull(),
  acquiredAt: at('acquired_at').notNull(),
  expiresAt: at('expires_at').notNull(),
});

/**
 * Counters that tell every replica a kind of data changed, a row per name. 'access' goes up with every
 * change to accounts, their addresses, domains, domain admins, sessions, API tokens or settings: each
 * replica polls it and drops the sessions and settings it cached (server/access/access-cache.ts).
 */
export const generationsTable = pgTable('console_generations', {
  name: varchar('name', { length: 64 }).primaryKey(),
  value: bigint('value', { mode: 'number' }).notNull(),
});

/** Every run of a background job (cleanup, reminders, digests): shown to admins, with "run now". */
export const jobRunsTable = pgTable(
  'console_job_runs',
  {
    id: serial('id').primaryKey(),
    job: varchar('job', { length: 32 }).notNull(),
    /** 'schedule' | 'manual' | 'cli' */
    origin: varchar('origin', { length: 16 }).notNull(),
    startedBy: varchar('started_by', { length: 320 }),
    /** The replica (host:pid) that ran it. */
    holder: varchar('holder', { length: 128 }).notNull(),
    dryRun: boolean('dry_run').notNull().default(false),
    startedAt: at('started_at').notNull(),
    finishedAt: at('finished_at'),
    /** 'running' | 'success' | 'failure' | 'skipped' */
    outcome: varchar('outcome', { length: 16 }).notNull(),
    /** What the run did, by name (rows deleted, mails sent, …). */
    counts: jsonb('counts'),
    error: text('error'),
  },
  (t) => [index('console_job_runs_job_idx').on(t.job, t.startedAt)],
);

/** A person's preferences: listing page size, language, time zone and their quarantine digest. */
export const userPreferencesTable = pgTable('console_user_preferences', {
  accountId: integer('account_id')
    .primaryKey()
    .references(() => accountsTable.id, { onDelete: 'cascade' }),
  pageSize: integer('page_size'),
  language: varchar('language', { length: 16 }),
  /** An IANA zone name; null means the server's. */
  timeZone: varchar('time_zone', { length: 64 }),
  digestEnabled: boolean('digest_enabled').notNull().default(false),
  /** 'daily' | 'weekdays' | 'weekly' */
  digestFrequency: varchar('digest_frequency', { length: 16 }).notNull().default('daily'),
  /** Local time of day the digest is sent, in minutes after midnight. */
  digestMinute: integer('digest_minute').notNull().default(480),
  /** For weekly digests: 0 = Sunday … 6 = Saturday. */
  digestWeekday: integer('digest_weekday'),
  /** Only messages quarantined after this are in the next digest. */
  lastDigestAt: at('last_digest_at'),
  nextDigestAt: at('next_digest_at'),
});

/**
 * One-click action tokens from digests: signed, expiring, single use, scoped to one (message,
 * recipient, action). The row is keyed by the token's id; the signature lives only in the link.
 */
export const actionTokensTable = pgTable(
  'console_action_tokens',
  {
    id: varchar('id', { length: 64 }).primaryKey(),
    accountId: integer('account_id').references(() => accountsTable.id, { onDelete: 'cascade' }),
    partitionTag: integer('partition_tag').notNull(),
    mailId: varchar('mail_id', { length: 16 }).notNull(),
    rseqnum: integer('rseqnum').notNull(),
    recipient: varchar('recipient', { length: 320 }).notNull(),
    /** 'release' | 'request' | 'delete' | 'allow-sender' | 'block-sender' */
    action: varchar('action', { length: 16 }).notNull(),
    createdAt: createdAt(),
    expiresAt: at('expires_at').notNull(),
    usedAt: at('used_at'),
    usedIp: varchar('used_ip', { length: 64 }),
  },
  (t) => [index('console_action_tokens_expires_idx').on(t.expiresAt)],
);

/**
 * What amavisd's wblist cannot hold about a sender-list entry: who made it and when it expires.
 * Keyed by addresses, not amavisd's ids, because amavis's tables may live in another database.
 */
export const senderListEntriesTable = pgTable(
  'console_sender_list_entries',
  {
    /** The users.email the entry belongs to ('user@dom', '@dom' or '@.' for global). */
    owner: varchar('owner', { length: 320 }).notNull(),
    /** The mailaddr.email of the sender pattern. */
    sender: varchar('sender', { length: 320 }).notNull(),
    createdByAccountId: integer('created_by_account_id'),
    createdBy: varchar('created_by', { length: 320 }).notNull(),
    createdAt: createdAt(),
    expiresAt: at('expires_at'),
  },
  (t) => [
    primaryKey({ columns: [t.owner, t.sender] }),
    index('console_sender_list_entries_expires_idx').on(t.expiresAt),
  ],
);

/**
 * Quarantine events (new rows, status changes), in order: what subscriptions publish and what a
 * client that reconnects resumes from (`since` an id). Pruned by the cleanup job.
 */
export const quarantineEventsTable = pgTable(
  'console_quarantine_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    at: timestamp('at', { withTimezone: true, mode: 'date' }).notNull().default(sql`now()`),
    /** 'quarantined' | 'viewed' | 'released' | 'requested' | 'approved' | 'denied' | 'learned' | 'deleted' … */
    kind: varchar('kind', { length: 32 }).notNull(),
    partitionTag: integer('partition_tag').notNull(),
    mailId: varchar('mail_id', { length: 16 }).notNull(),
    rseqnum: integer('rseqnum').notNull(),
    /** The recipient, lowercase, and its domain: who may see the event. */
    recipient: varchar('recipient', { length: 320 }).notNull(),
    recipientDomain: varchar('recipient_domain', { length: 255 }).notNull(),
    /** The new msgrcpt.rs, when the event changed it. */
    status: varchar('status', { length: 1 }),
    actor: varchar('actor', { length: 320 }),
  },
  (t) => [index('console_quarantine_events_at_idx').on(t.at)],
);
