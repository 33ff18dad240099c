// The quarantine list's filter and sort live in the page URL, so a filtered list can be bookmarked and
// coming back from a message restores it.

import type { QuarantineQuery } from './graphql/documents';
import type { VariablesOf } from './graphql/graphql';
import {
  CONTENT_KINDS,
  type ContentKind,
  type QuarantineSortField,
  STATUS_KINDS,
  type StatusKind,
} from './labels';

type Variables = VariablesOf<typeof QuarantineQuery>;
export type QuarantineFilter = NonNullable<Variables['filter']>;
export type QuarantineSort = NonNullable<Variables['sort']>;

export interface FilterForm {
  text: string;
  kinds: ContentKind[];
  statuses: StatusKind[];
  from: string;
  to: string;
  minScore: string;
  maxScore: string;
  domain: string;
  sort: QuarantineSortField;
  direction: 'asc' | 'desc';
}

const SORT_FIELDS: QuarantineSortField[] = ['date', 'score', 'sender', 'recipient', 'subject'];

export { SORT_FIELDS };

export function formFromParams(params: { get(name: string): string | null }): FilterForm {
  const list = (name: string) => (params.get(name) ?? '').split(',').filter(Boolean);
  const sort = params.get('sort') as QuarantineSortField | null;
  return {
    text: params.get('q') ?? '',
    kinds: list('kinds').filter((k): k is ContentKind => CONTENT_KINDS.includes(k as ContentKind)),
    statuses: list('statuses').filter((s): s is StatusKind => STATUS_KINDS.includes(s as StatusKind)),
    from: params.get('from') ?? '',
    to: params.get('to') ?? '',
    minScore: params.get('min') ?? '',
    maxScore: params.get('max') ?? '',
    domain: params.get('domain') ?? '',
    sort: sort && SORT_FIELDS.includes(sort) ? sort : 'date',
    direction: params.get('dir') === 'asc' ? 'asc' : 'desc',
  };
}

export function paramsFromForm(form: FilterForm): URLSearchParams {
  const params = new URLSearchParams();
  if (form.text.trim()) params.set('q', form.text.trim());
  if (form.kinds.length) params.set('kinds', form.kinds.join(','));
  if (form.statuses.length) params.set('statuses', form.statuses.join(','));
  if (form.from) params.set('from', form.from);
  if (form.to) params.set('to', form.to);
  if (form.minScore.trim()) params.set('min', form.minScore.trim());
  if (form.maxScore.trim()) params.set('max', form.maxScore.trim());
  if (form.domain.trim()) params.set('domain', form.domain.trim());
  if (form.sort !== 'date') params.set('sort', form.sort);
  if (form.direction !== 'desc') params.set('dir', form.direction);
  return params;
}

function score(value: string): number | undefined {
  const parsed = Number.parseFloat(value.replace(',', '.'));
  return Number.isFinite(parsed) ? parsed : undefined;
}

/** A date input's day, at local midnight, as the server's DateTime. */
function dayStart(day: string, plusDays = 0): string | undefined {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return undefined;
  const date = new Date(`${day}T00:00:00`);
  date.setDate(date.getDate() + plusDays);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

export function queryFromForm(form: FilterForm): { filter: QuarantineFilter; sort: QuarantineSort } {
  const filter: QuarantineFilter = {};
  if (form.text.trim()) filter.text = form.text.trim();
  if (form.kinds.length) filter.contentKinds = form.kinds;
  if (form.statuses.length) filter.statuses = form.statuses;
  const from = dayStart(form.from);
  if (from) filter.receivedFrom = from;
  const before = dayStart(form.to, 1);
  if (before) filter.receivedBefore = before;
  const min = score(form.minScore);
  if (min !== undefined) filter.minScore = min;
  const max = score(form.maxScore);
  if (max !== undefined) filter.maxScore = max;
  if (form.domain.trim()) filter.recipientDomain = form.domain.trim();
  return { filter, sort: { field: form.sort, direction: form.direction } };
}
