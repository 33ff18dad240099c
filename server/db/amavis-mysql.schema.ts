// amavisd-new's tables as README.sql-mysql (amavisd-new 2.13) creates them, column for column.
// Property names match amavis-pg.schema.ts key for key (a test checks), and the custom types make
// both dialects return the same JavaScript values, so services can query either one.
import {
  bigint,
  customType,
  float,
  index,
  int,
  mysqlTable,
  primaryKey,
  unique,
  varchar,
} from 'drizzle-orm/mysql-core';
import { normaliseChar1, toBuffer } from './binary.ts';
import { varbinary, varbinaryKey } from './binary-columns.ts';

const blob = customType<{ data: Buffer; driverData: Buffer }>({
  dataType: () => 'blob',
  fromDriver: toBuffer,
});

const char1 = customType<{ data: string; driverData: string }>({
  dataType: () => 'char(1)',
  fromDriver: (value) => normaliseChar1(value) ?? value,
});

/** amavisd writes from_addr and subject as UTF-8 octets into a utf8mb4_bin column. */
const utf8Bin = customType<{ data: string; driverData: string }>({
  dataType: () => 'varchar(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin',
});

function formatIsoBasic(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace(/[-:]/g, '')}Z`;
}

function parseIsoBasic(value: string): Date {
  // 'YYYYMMDDTHHMMSSZ', or without T and Z when amavisd runs with $timestamp_fmt_mysql
  const m = /^(\d{4})(\d{2})(\d{2})T?(\d{2})(\d{2})(\d{2})Z?$/.exec(value.trim());
  if (!m) return new Date(Number.NaN);
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second));
}

/** time_iso is char(16) 'YYYYMMDDTHHMMSSZ' on MySQL; exposed as a Date like PostgreSQL's timestamptz. */
const isoBasicTime = customType<{ data: Date; driverData: string }>({
  dataType: () => 'char(16)',
  toDriver: formatIsoBasic,
  fromDriver: parseIsoBasic,
});

export const usersTable = mysqlTable('users', {
  id: int('id', { unsigned: true }).autoincrement().primaryKey(),
  priority: int('priority').notNull().default(7),
  policyId: int('policy_id', { unsigned: true }).notNull().default(1),
  email: varbinary('email', { length: 255 }).notNull().unique('email'),
  fullname: varchar('fullname', { length: 255 }),
});

export const mailaddrTable = mysqlTable('mailaddr', {
  id: int('id', { unsigned: true }).autoincrement().primaryKey(),
  priority: int('priority').notNull().default(7),
  email: varbinary('email', { length: 255 }).notNull().unique('email'),
});

export const wblistTable = mysqlTable(
  'wblist',
  {
    rid: int('rid', { unsigned: true }).notNull(),
    sid: int('sid', { unsigned: true }).notNull(),
    wb: varchar('wb', { length: 10 }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.rid, t.sid] })],
);

export const policyTable = mysqlTable('policy', {
  id: int('id', { unsigned: true }).autoincrement().primaryKey(),
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
  spamTagLevel: float('spam_tag_level'),
  spamTag2Level: float('spam_tag2_level'),
  spamTag3Level: float('spam_tag3_level'),
  spamKillLevel: float('spam_kill_level'),
  spamDsnCutoffLevel: float('spam_dsn_cutoff_level'),
  spamQuarantineCutoffLevel: float('spam_quarantine_cutoff_level'),
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
  messageSizeLimit: int('message_size_limit'),
  bannedRulenames: varchar('banned_rulenames', { length: 64 }),
  disclaimerOptions: varchar('disclaimer_options', { length: 64 }),
  forwardMethod: varchar('forward_method', { length: 64 }),
  saUserconf: varchar('sa_userconf', { length: 64 }),
  saUsername: varchar('sa_username', { length: 64 }),
});

export const maddrTable = mysqlTable(
  'maddr',
  {
    partitionTag: int('partition_tag').default(0),
    id: bigint('id', { mode: 'number', unsigned: true }).autoincrement().primaryKey(),
    email: varbinary('email', { length: 255 }).notNull(),
    domain: varchar('domain', { length: 255 }).notNull(),
  },
  (t) => [unique('part_email').on(t.partitionTag, t.email)],
);

export const msgsTable = mysqlTable(
  'msgs',
  {
    partitionTag: int('partition_tag').notNull().default(0),
    mailId: varbinaryKey('mail_id', { length: 16 }).notNull(),
    secretId: varbinaryKey('secret_id', { length: 16 }).default(''),
    amId: varchar('am_id', { length: 20 }).notNull(),
    timeNum: int('time_num', { unsigned: true }).notNull(),
    timeIso: isoBasicTime('time_iso').notNull(),
    sid: bigint('sid', { mode: 'number', unsigned: true }).notNull(),
    policy: varchar('policy', { length: 255 }).default(''),
    clientAddr: varchar('client_addr', { length: 255 }).default(''),
    size: int('size', { unsigned: true }).notNull(),
    originating: char1('originating').notNull().default(' '),
    content: char1('content'),
    quarType: char1('quar_type'),
    quarLoc: varbinaryKey('quar_loc', { length: 255 }).default(''),
    dsnSent: char1('dsn_sent'),
    spamLevel: float('spam_level'),
    messageId: varchar('message_id', { length: 255 }).default(''),
    fromAddr: utf8Bin('from_addr').default(''),
    subject: utf8Bin('subject').default(''),
    host: varchar('host', { length: 255 }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.partitionTag, t.mailId] }),
    index('msgs_idx_sid').on(t.sid),
    index('msgs_idx_mess_id').on(t.messageId),
    index('msgs_idx_time_num').on(t.timeNum),
  ],
);

export const msgrcptTable = mysqlTable(
  'msgrcpt',
  {
    partitionTag: int('partition_tag').notNull().default(0),
    mailId: varbinaryKey('mail_id', { length: 16 }).notNull(),
    rseqnum: int('rseqnum').notNull().default(0),
    rid: bigint('rid', { mode: 'number', unsigned: true }).notNull(),
    isLocal: char1('is_local').notNull().default(' '),
    content: char1('content').notNull().default(' '),
    ds: char1('ds').notNull(),
    rs: char1('rs').notNull(),
    bl: char1('bl').default(' '),
    wl: char1('wl').default(' '),
    bspamLevel: float('bspam_level'),
    smtpResp: varchar('smtp_resp', { length: 255 }).default(''),
  },
  (t) => [
    primaryKey({ columns: [t.partitionTag, t.mailId, t.rseqnum] }),
    index('msgrcpt_idx_mail_id').on(t.mailId),
    index('msgrcpt_idx_rid').on(t.rid),
  ],
);

export const quarantineTable = mysqlTable(
  'quarantine',
  {
    partitionTag: int('partition_tag').notNull().default(0),
    mailId: varbinaryKey('mail_id', { length: 16 }).notNull(),
    chunkInd: int('chunk_ind', { unsigned: true }).notNull(),
    mailText: blob('mail_text').notNull(),
  },
  (t) => [primaryKey({ columns: [t.partitionTag, t.mailId, t.chunkInd] })],
);
