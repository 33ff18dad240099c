// amavisd-new's tables as README.sql-pg (amavisd-new 2.13) creates them, column for column.
// amavisd owns these tables: the console never migrates them in an operator's database.
import { sql } from 'drizzle-orm';
import {
  check,
  customType,
  foreignKey,
  index,
  integer,
  pgTable,
  primaryKey,
  real,
  serial,
  timestamp,
  unique,
  varchar,
} from 'drizzle-orm/pg-core';
import { normaliseChar1 } from './binary.ts';
import { bytea, byteaKey } from './binary-columns.ts';

const char1 = customType<{ data: string; driverData: string }>({
  dataType: () => 'char(1)',
  fromDriver: (value) => normaliseChar1(value) ?? value,
});

export const policyTable = pgTable('policy', {
  id: serial('id').primaryKey(),
  policyName: varchar('policy_name', { length: 32 }),
  virusLover: char1('virus_lover'),
  spamLover: char1('spam_lover'),
  uncheckedLover: char1('unchecked_lover'),
  bannedFilesLover: char1('banned_files_lover'),
  badHeaderLover: char1('bad_header_lover'),
  bypassVirusChecks: char1('bypass_virus_checks'),
  bypassSpamChecks: char1('bypass_spam_checks'),
  bypassBannedChecks: char1('bypass_banned_checks'),
  bypassHeaderChecks: char1('bypass_header_checks'),
  virusQuarantineTo: varchar('virus_quarantine_to', { length: 64 }),
  spamQuarantineTo: varchar('spam_quarantine_to', { length: 64 }),
  bannedQuarantineTo: varchar('banned_quarantine_to', { length: 64 }),
  uncheckedQuarantineTo: varchar('unchecked_quarantine_to', { length: 64 }),
  badHeaderQuarantineTo: varchar('bad_header_quarantine_to', { length: 64 }),
  cleanQuarantineTo: varchar('clean_quarantine_to', { length: 64 }),
  archiveQuarantineTo: varchar('archive_quarantine_to', { length: 64 }),
  spamTagLevel: real('spam_tag_level'),
  spamTag2Level: real('spam_tag2_level'),
  spamTag3Level: real('spam_tag3_level'),
  spamKillLevel: real('spam_kill_level'),
  spamDsnCutoffLevel: real('spam_dsn_cutoff_level'),
  spamQuarantineCutoffLevel: real('spam_quarantine_cutoff_level'),
  addrExtensionVirus: varchar('addr_extension_virus', { length: 64 }),
  addrExtensionSpam: varchar('addr_extension_spam', { length: 64 }),
  addrExtensionBanned: varchar('addr_extension_banned', { length: 64 }),
  addrExtensionBadHeader: varchar('addr_extension_bad_header', { length: 64 }),
  warnvirusrecip: char1('warnvirusrecip'),
  warnbannedrecip: char1('warnbannedrecip'),
  warnbadhrecip: char1('warnbadhrecip'),
  newvirusAdmin: varchar('newvirus_admin', { length: 64 }),
  virusAdmin: varchar('virus_admin', { length: 64 }),
  bannedAdmin: varchar('banned_admin', { length: 64 }),
  badHeaderAdmin: varchar('bad_header_admin', { length: 64 }),
  spamAdmin: varchar('spam_admin', { length: 64 }),
  spamSubjectTag: varchar('spam_subject_tag', { length: 64 }),
  spamSubjectTag2: varchar('spam_subject_tag2', { length: 64 }),
  spamSubjectTag3: varchar('spam_subject_tag3', { length: 64 }),
  messageSizeLimit: integer('message_size_limit'),
  bannedRulenames: varchar('banned_rulenames', { length: 64 }),
  disclaimerOptions: varchar('disclaimer_options', { length: 64 }),
  forwardMethod: varchar('forward_method', { length: 64 }),
  saUserconf: varchar('sa_userconf', { length: 64 }),
  saUsername: varchar('sa_username', { length: 64 }),
});

export const usersTable = pgTable(
  'users',
  {
    id: serial('id').primaryKey(),
    priority: integer('priority').notNull().default(7),
    policyId: integer('policy_id').notNull().default(1),
    email: bytea('email').notNull().unique('users_email_key'),
    fullname: varchar('fullname', { length: 255 }),
  },
  (t) => [
    check('users_policy_id_check', sql`policy_id >= 0`),
    foreignKey({ name: 'users_policy_id_fkey', columns: [t.policyId], foreignColumns: [policyTable.id] }),
  ],
);

export const mailaddrTable = pgTable('mailaddr', {
  id: serial('id').primaryKey(),
  priority: integer('priority').notNull().default(9),
  email: bytea('email').notNull().unique('mailaddr_email_key'),
});

export const wblistTable = pgTable(
  'wblist',
  {
    rid: integer('rid').notNull(),
    sid: integer('sid').notNull(),
    wb: varchar('wb', { length: 10 }).notNull(),
  },
  (t) => [
    primaryKey({ name: 'wblist_pkey', columns: [t.rid, t.sid] }),
    check('wblist_rid_check', sql`rid >= 0`),
    check('wblist_sid_check', sql`sid >= 0`),
    foreignKey({ name: 'wblist_rid_fkey', columns: [t.rid], foreignColumns: [usersTable.id] }),
    foreignKey({ name: 'wblist_sid_fkey', columns: [t.sid], foreignColumns: [mailaddrTable.id] }),
  ],
);

export const maddrTable = pgTable(
  'maddr',
  {
    id: serial('id').primaryKey(),
    partitionTag: integer('partition_tag').default(0),
    email: bytea('email').notNull(),
    domain: varchar('domain', { length: 255 }).notNull(),
  },
  (t) => [unique('part_email').on(t.partitionTag, t.email)],
);

export const msgsTable = pgTable(
  'msgs',
  {
    partitionTag: integer('partition_tag').notNull().default(0),
    mailId: byteaKey('mail_id').notNull(),
    secretId: byteaKey('secret_id').default(sql`''`),
    amId: varchar('am_id', { length: 20 }).notNull(),
    timeNum: integer('time_num').notNull(),
    timeIso: timestamp('time_iso', { withTimezone: true, mode: 'date' }).notNull(),
    sid: integer('sid').notNull(),
    policy: varchar('policy', { length: 255 }).default(''),
    clientAddr: varchar('client_addr', { length: 255 }).default(''),
    size: integer('size').notNull(),
    originating: char1('originating').notNull().default(' '),
    content: char1('content'),
    quarType: char1('quar_type'),
    quarLoc: varchar('quar_loc', { length: 255 }).default(''),
    dsnSent: char1('dsn_sent'),
    spamLevel: real('spam_level'),
    messageId: varchar('message_id', { length: 255 }).default(''),
    fromAddr: varchar('from_addr', { length: 255 }).default(''),
    subject: varchar('subject', { length: 255 }).default(''),
    host: varchar('host', { length: 255 }).notNull(),
  },
  (t) => [
    // README.sql-pg also declares UNIQUE msgs_partition_mail on the same columns; PostgreSQL drops a
    // unique constraint that repeats the primary key, so it never exists in a real database.
    primaryKey({ name: 'msgs_pkey', columns: [t.partitionTag, t.mailId] }),
    check('msgs_time_num_check', sql`time_num >= 0`),
    check('msgs_sid_check', sql`sid >= 0`),
    check('msgs_size_check', sql`size >= 0`),
    index('msgs_idx_sid').on(t.sid),
    index('msgs_idx_mess_id').on(t.messageId),
    index('msgs_idx_time_iso').on(t.timeIso),
    index('msgs_idx_time_num').on(t.timeNum),
  ],
);

export const msgrcptTable = pgTable(
  'msgrcpt',
  {
    partitionTag: integer('partition_tag').notNull().default(0),
    mailId: byteaKey('mail_id').notNull(),
    rseqnum: integer('rseqnum').notNull().default(0),
    rid: integer('rid').notNull(),
    isLocal: char1('is_local').notNull().default(' '),
    content: char1('content').notNull().default(' '),
    ds: char1('ds').notNull(),
    rs: char1('rs').notNull(),
    bl: char1('bl').default(' '),
    wl: char1('wl').default(' '),
    bspamLevel: real('bspam_level'),
    smtpResp: varchar('smtp_resp', { length: 255 }).default(''),
  },
  (t) => [
    // As for msgs: the UNIQUE msgrcpt_partition_mail_rseq of README.sql-pg repeats the primary key.
    primaryKey({ name: 'msgrcpt_pkey', columns: [t.partitionTag, t.mailId, t.rseqnum] }),
    index('msgrcpt_idx_mail_id').on(t.mailId),
    index('msgrcpt_idx_rid').on(t.rid),
  ],
);

export const quarantineTable = pgTable(
  'quarantine',
  {
    partitionTag: integer('partition_tag').notNull().default(0),
    mailId: byteaKey('mail_id').notNull(),
    chunkInd: integer('chunk_ind').notNull(),
    mailText: bytea('mail_text').notNull(),
  },
  (t) => [
    primaryKey({ name: 'quarantine_pkey', columns: [t.partitionTag, t.mailId, t.chunkInd] }),
    check('quarantine_chunk_ind_check', sql`chunk_ind >= 0`),
  ],
);
