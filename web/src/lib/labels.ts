// The enums the UI shows, straight from the schema (so a new schema value fails the type check here).
import type { introspection } from './graphql/graphql-env';

type EnumValues<Name extends keyof introspection['types']> = introspection['types'][Name] extends {
  enumValues: infer Values;
}
  ? Values
  : never;

export type ContentKind = EnumValues<'ContentKind'>;
export type StatusKind = EnumValues<'StatusKind'>;
export type ActionOutcome = EnumValues<'ActionOutcome'>;
export type ReleaseRequestStatus = EnumValues<'ReleaseRequestStatus'>;
export type Role = EnumValues<'Role'>;
export type AuditOutcome = EnumValues<'AuditOutcome'>;
export type QuarantineSortField = EnumValues<'QuarantineSortField'>;

/** The verdicts offered as filters, most common first. */
export const CONTENT_KINDS: ContentKind[] = [
  'spam',
  'spammy',
  'virus',
  'banned',
  'badHeader',
  'badMime',
  'oversized',
  'unchecked',
  'clean',
  'mtaError',
  'other',
  'unknown',
];

/** The statuses offered as filters (deleted entries are never listed). */
export const STATUS_KINDS: StatusKind[] = [
  'new',
  'viewed',
  'pending',
  'released',
  'learnedSpam',
  'learnedHam',
  'unknown',
];
