// amavisd's one-letter codes and what the console calls them. Codes nobody listed (old data, future
// amavisd versions) map to 'unknown' instead of failing: they must never break a listing.

export const CONTENT_KINDS = [
  'clean',
  'spam',
  'spammy',
  'virus',
  'badHeader',
  'badMime',
  'banned',
  'oversized',
  'mtaError',
  'unchecked',
  'other',
  'unknown',
] as const;
export type ContentKind = (typeof CONTENT_KINDS)[number];

const CONTENT_BY_CODE: Record<string, { kind: ContentKind; label: string }> = {
  C: { kind: 'clean', label: 'Clean' },
  S: { kind: 'spam', label: 'Spam' },
  Y: { kind: 'spammy', label: 'Spammy' },
  // amavisd before 2.7.0 wrote 's' for spammy
  s: { kind: 'spammy', label: 'Spammy' },
  V: { kind: 'virus', label: 'Virus' },
  H: { kind: 'badHeader', label: 'Bad header' },
  M: { kind: 'badMime', label: 'Bad MIME' },
  B: { kind: 'banned', label: 'Banned' },
  O: { kind: 'oversized', label: 'Oversized' },
  T: { kind: 'mtaError', label: 'MTA error' },
  U: { kind: 'unchecked', label: 'Unchecked' },
  // CC_CATCHALL
  '?': { kind: 'other', label: 'Other' },
};

export interface CodeDescription<K extends string> {
  code: string;
  kind: K;
  label: string;
}

export function describeContent(code: string | null): CodeDescription<ContentKind> {
  const normalised = (code ?? '').trim();
  const known = CONTENT_BY_CODE[normalised];
  if (known) return { code: normalised, ...known };
  return { code: normalised, kind: 'unknown', label: normalised ? `Unknown (${normalised})` : 'Unknown' };
}

export const STATUS_KINDS = [
  'new',
  'viewed',
  'released',
  'pending',
  'learnedSpam',
  'learnedHam',
  'deleted',
  'unknown',
] as const;
export type StatusKind = (typeof STATUS_KINDS)[number];

const STATUS_BY_CODE: Record<string, { kind: StatusKind; label: string }> = {
  '': { kind: 'new', label: 'New' },
  V: { kind: 'viewed', label: 'Viewed' },
  R: { kind: 'released', label: 'Released' },
  p: { kind: 'pending', label: 'Release requested' },
  S: { kind: 'learnedSpam', label: 'Marked as spam' },
  H: { kind: 'learnedHam', label: 'Marked as not spam' },
  D: { kind: 'deleted', label: 'Deleted' },
};

/** msgrcpt.rs: amavisd writes ' ' (MariaDB returns ''), the console writes the rest. */
export function describeStatus(code: string | null): CodeDescription<StatusKind> {
  const normalised = (code ?? '').trim();
  const known = STATUS_BY_CODE[normalised];
  if (known) return { code: normalised === '' ? ' ' : normalised, ...known };
  return { code: normalised, kind: 'unknown', label: `Unknown (${normalised})` };
}
