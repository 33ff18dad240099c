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

/**
 * One shared, frozen description per known code: a listing describes every entry twice, and the
 * descriptions of a page of 50 are otherwise 100 fresh objects.
 */
function described<K extends string>(
  byCode: Record<string, { kind: K; label: string }>,
  codeOf: (code: string) => string,
): Record<string, Readonly<CodeDescription<K>>> {
  return Object.fromEntries(
    Object.entries(byCode).map(([code, known]) => [code, Object.freeze({ code: codeOf(code), ...known })]),
  );
}

const CONTENT_DESCRIBED = described(CONTENT_BY_CODE, (code) => code);

export function describeContent(code: string | null): CodeDescription<ContentKind> {
  const normalised = (code ?? '').trim();
  const known = CONTENT_DESCRIBED[normalised];
  if (known) return known;
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

const STATUS_DESCRIBED = described(STATUS_BY_CODE, (code) => (code === '' ? ' ' : code));

/** msgrcpt.rs: amavisd writes ' ' (MariaDB returns ''), the console writes the rest. */
export function describeStatus(code: string | null): CodeDescription<StatusKind> {
  const normalised = (code ?? '').trim();
  const known = STATUS_DESCRIBED[normalised];
  if (known) return known;
  return { code: normalised, kind: 'unknown', label: `Unknown (${normalised})` };
}
