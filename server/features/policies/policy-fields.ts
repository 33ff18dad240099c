// The amavis policy fields the console edits, with what amavisd makes of each (README.lookups, Amavis.pm's
// SQL field lookups: B- booleans, N- numbers, S- strings). A NULL column means "inherit": amavisd moves on
// to the next matching users row, then to amavisd.conf. Any defined value, '' included, ends the search,
// so the console never writes '' for a flag (amavisd reads it as "no") and stores inherit as NULL.
// This module imports nothing of the console, so settings can name the fields without a cycle.

export const POLICY_FIELD_GROUPS = [
  'bypass',
  'lovers',
  'spamLevels',
  'subjectTags',
  'quarantine',
  'limits',
  'notifications',
  'spamAssassin',
] as const;
export type PolicyFieldGroup = (typeof POLICY_FIELD_GROUPS)[number];

/** flag: Y/N; level: a SpamAssassin score; size: bytes; text: a string, where '' is a value of its own. */
export type PolicyFieldKind = 'flag' | 'level' | 'size' | 'text';

export interface PolicyFieldInfo {
  key: PolicyFieldKey;
  /** The policy column amavisd reads. */
  column: string;
  group: PolicyFieldGroup;
  kind: PolicyFieldKind;
  label: string;
  /** What an explicit value does, in amavisd's terms. */
  description: string;
  /** Longest text amavisd's column holds (varchar(64)). */
  maxLength?: number;
}

const FIELDS = [
  [
    'bypassVirusChecks',
    'bypass_virus_checks',
    'bypass',
    'flag',
    'Skip virus checks',
    'On: mail to the recipient is not scanned for viruses.',
  ],
  [
    'bypassSpamChecks',
    'bypass_spam_checks',
    'bypass',
    'flag',
    'Skip spam checks',
    'On: mail to the recipient is not given to SpamAssassin (spam passes unchecked).',
  ],
  [
    'bypassBannedChecks',
    'bypass_banned_checks',
    'bypass',
    'flag',
    'Skip banned-file checks',
    'On: banned file names and types are not checked.',
  ],
  [
    'bypassHeaderChecks',
    'bypass_header_checks',
    'bypass',
    'flag',
    'Skip header checks',
    'On: bad headers are not checked.',
  ],
  [
    'virusLover',
    'virus_lover',
    'lovers',
    'flag',
    'Accepts viruses',
    'On: infected mail is delivered to the recipient (still checked and marked).',
  ],
  [
    'spamLover',
    'spam_lover',
    'lovers',
    'flag',
    'Accepts spam',
    'On: spam is delivered to the recipient (tagged) instead of quarantined.',
  ],
  [
    'uncheckedLover',
    'unchecked_lover',
    'lovers',
    'flag',
    'Accepts unchecked mail',
    'On: mail that could not be checked (e.g. encrypted archives) is delivered.',
  ],
  [
    'bannedFilesLover',
    'banned_files_lover',
    'lovers',
    'flag',
    'Accepts banned files',
    'On: mail with banned files is delivered.',
  ],
  [
    'badHeaderLover',
    'bad_header_lover',
    'lovers',
    'flag',
    'Accepts bad headers',
    'On: mail with bad headers is delivered.',
  ],
  [
    'spamTagLevel',
    'spam_tag_level',
    'spamLevels',
    'level',
    'Add spam headers at',
    'The score from which X-Spam-Status headers are added.',
  ],
  [
    'spamTag2Level',
    'spam_tag2_level',
    'spamLevels',
    'level',
    'Spam at',
    'The score from which mail is declared spam (headers, subject tag).',
  ],
  [
    'spamTag3Level',
    'spam_tag3_level',
    'spamLevels',
    'level',
    'Blatant spam at',
    'The score from which the third subject tag is used.',
  ],
  [
    'spamKillLevel',
    'spam_kill_level',
    'spamLevels',
    'level',
    'Quarantine/discard at',
    'The score from which amavisd takes evasive action (its $final_spam_destiny: quarantine, discard or bounce).',
  ],
  [
    'spamDsnCutoffLevel',
    'spam_dsn_cutoff_level',
    'spamLevels',
    'level',
    'No bounce from',
    'The score from which no delivery status notification is sent to the sender.',
  ],
  [
    'spamQuarantineCutoffLevel',
    'spam_quarantine_cutoff_level',
    'spamLevels',
    'level',
    'No quarantine from',
    'The score from which spam is not even quarantined.',
  ],
  [
    'spamSubjectTag',
    'spam_subject_tag',
    'subjectTags',
    'text',
    'Subject tag (tag level)',
    'Prepended to the Subject from the tag level; empty: none.',
  ],
  [
    'spamSubjectTag2',
    'spam_subject_tag2',
    'subjectTags',
    'text',
    'Subject tag (spam)',
    'Prepended to the Subject of spam, e.g. "***Spam*** "; empty: none.',
  ],
  [
    'spamSubjectTag3',
    'spam_subject_tag3',
    'subjectTags',
    'text',
    'Subject tag (blatant spam)',
    'Prepended to the Subject from the tag3 level; empty: none.',
  ],
  [
    'virusQuarantineTo',
    'virus_quarantine_to',
    'quarantine',
    'text',
    'Virus quarantine',
    'Where infected mail is quarantined; empty: not quarantined.',
  ],
  [
    'spamQuarantineTo',
    'spam_quarantine_to',
    'quarantine',
    'text',
    'Spam quarantine',
    'Where spam is quarantined; empty: not quarantined.',
  ],
  [
    'bannedQuarantineTo',
    'banned_quarantine_to',
    'quarantine',
    'text',
    'Banned-file quarantine',
    'Where mail with banned files is quarantined; empty: not quarantined.',
  ],
  [
    'uncheckedQuarantineTo',
    'unchecked_quarantine_to',
    'quarantine',
    'text',
    'Unchecked-mail quarantine',
    'Where unchecked mail is quarantined; empty: not quarantined.',
  ],
  [
    'badHeaderQuarantineTo',
    'bad_header_quarantine_to',
    'quarantine',
    'text',
    'Bad-header quarantine',
    'Where mail with bad headers is quarantined; empty: not quarantined.',
  ],
  [
    'cleanQuarantineTo',
    'clean_quarantine_to',
    'quarantine',
    'text',
    'Clean-mail quarantine',
    'Where a copy of clean mail is quarantined; empty: none.',
  ],
  [
    'archiveQuarantineTo',
    'archive_quarantine_to',
    'quarantine',
    'text',
    'Archive',
    'Where a copy of every mail is archived; empty: none.',
  ],
  [
    'messageSizeLimit',
    'message_size_limit',
    'limits',
    'size',
    'Message size limit',
    'Largest message accepted, in bytes; 0: no limit.',
  ],
  [
    'bannedRulenames',
    'banned_rulenames',
    'limits',
    'text',
    'Banned-file rules',
    'Comma-separated names of banned-file rule sets (amavisd.conf %banned_rules).',
  ],
  [
    'warnvirusrecip',
    'warnvirusrecip',
    'notifications',
    'flag',
    'Warn about viruses',
    'On: the recipient is told about infected mail it did not get.',
  ],
  [
    'warnbannedrecip',
    'warnbannedrecip',
    'notifications',
    'flag',
    'Warn about banned files',
    'On: the recipient is told about mail with banned files it did not get.',
  ],
  [
    'warnbadhrecip',
    'warnbadhrecip',
    'notifications',
    'flag',
    'Warn about bad headers',
    'On: the recipient is told about mail with bad headers it did not get.',
  ],
  [
    'addrExtensionSpam',
    'addr_extension_spam',
    'notifications',
    'text',
    'Address extension for spam',
    'Appended to the local part (user+spam@) of delivered spam; empty: none.',
  ],
  [
    'addrExtensionVirus',
    'addr_extension_virus',
    'notifications',
    'text',
    'Address extension for viruses',
    'Appended to the local part of delivered infected mail; empty: none.',
  ],
  [
    'addrExtensionBanned',
    'addr_extension_banned',
    'notifications',
    'text',
    'Address extension for banned files',
    'Appended to the local part of delivered mail with banned files; empty: none.',
  ],
  [
    'addrExtensionBadHeader',
    'addr_extension_bad_header',
    'notifications',
    'text',
    'Address extension for bad headers',
    'Appended to the local part of delivered mail with bad headers; empty: none.',
  ],
  [
    'spamAdmin',
    'spam_admin',
    'notifications',
    'text',
    'Spam admin',
    'Who is told about spam; empty: nobody.',
  ],
  [
    'virusAdmin',
    'virus_admin',
    'notifications',
    'text',
    'Virus admin',
    'Who is told about infected mail; empty: nobody.',
  ],
  [
    'newvirusAdmin',
    'newvirus_admin',
    'notifications',
    'text',
    'New-virus admin',
    'Who is told about a virus seen for the first time; empty: nobody.',
  ],
  [
    'bannedAdmin',
    'banned_admin',
    'notifications',
    'text',
    'Banned-file admin',
    'Who is told about banned files; empty: nobody.',
  ],
  [
    'badHeaderAdmin',
    'bad_header_admin',
    'notifications',
    'text',
    'Bad-header admin',
    'Who is told about bad headers; empty: nobody.',
  ],
  [
    'saUsername',
    'sa_username',
    'spamAssassin',
    'text',
    'SpamAssassin user',
    'The SpamAssassin (Bayes) user mail to the recipient is scanned as.',
  ],
] as const;

export type PolicyFieldKey = (typeof FIELDS)[number][0];

export const POLICY_FIELDS: readonly PolicyFieldInfo[] = FIELDS.map(
  ([key, column, group, kind, label, description]) => ({
    key,
    column,
    group,
    kind,
    label,
    description,
    ...(kind === 'text' ? { maxLength: 64 } : {}),
  }),
);

export const POLICY_FIELD_KEYS = FIELDS.map((f) => f[0]) as unknown as readonly [
  PolicyFieldKey,
  ...PolicyFieldKey[],
];

export const POLICY_FIELD_BY_KEY: ReadonlyMap<PolicyFieldKey, PolicyFieldInfo> = new Map(
  POLICY_FIELDS.map((f) => [f.key, f]),
);

/**
 * What domain admins may change unless a superadmin decides otherwise: the spam levels, subject tags,
 * the lovers and spam bypass, the message size limit. Not the virus/banned/header bypasses (modoboa
 * #13: only superadmins switch protection off), quarantine destinations, admins or the Bayes user.
 */
export const DEFAULT_DOMAIN_ADMIN_POLICY_FIELDS: readonly PolicyFieldKey[] = [
  'bypassSpamChecks',
  'spamLover',
  'bannedFilesLover',
  'badHeaderLover',
  'spamTagLevel',
  'spamTag2Level',
  'spamTag3Level',
  'spamKillLevel',
  'spamDsnCutoffLevel',
  'spamQuarantineCutoffLevel',
  'spamSubjectTag',
  'spamSubjectTag2',
  'spamSubjectTag3',
  'messageSizeLimit',
  'warnbannedrecip',
  'warnbadhrecip',
];
