// A person's own preferences: listing page size, language, time zone, and their quarantine digest
// (opt-in, frequency, time of day). Every account edits only its own row.
import { eq } from 'drizzle-orm';
import { z } from 'zod';
import type { Actor } from '../../access/actor.ts';
import { ForbiddenError } from '../../access/forbidden-error.ts';
import { recordAudit } from '../../audit/audit-log.ts';
import { MAX_PAGE_SIZE } from '../../db/paging.ts';
import type { ConsoleStore } from '../../db/stores.ts';
import { InputError } from '../../input-error.ts';
import { DIGEST_FREQUENCIES, type DigestFrequency, isTimeZone, nextDigestAt } from './digest-schedule.ts';

export interface Preferences {
  pageSize: number | null;
  language: string | null;
  timeZone: string | null;
  digestEnabled: boolean;
  digestFrequency: DigestFrequency;
  digestMinute: number;
  digestWeekday: number | null;
  lastDigestAt: Date | null;
  nextDigestAt: Date | null;
}

export const DEFAULT_PREFERENCES: Preferences = {
  pageSize: null,
  language: null,
  timeZone: null,
  digestEnabled: false,
  digestFrequency: 'daily',
  digestMinute: 8 * 60,
  digestWeekday: null,
  lastDigestAt: null,
  nextDigestAt: null,
};

/** The languages the web app may be shown in (BCP 47 tags, as the browser sends them). */
const LANGUAGE = /^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/;

const patchSchema = z
  .object({
    pageSize: z.number().int().min(10).max(MAX_PAGE_SIZE).nullable(),
    language: z.string().max(16).regex(LANGUAGE, 'expected a language tag such as en or pt-BR').nullable(),
    timeZone: z
      .string()
      .max(64)
      .refine(isTimeZone, 'expected an IANA time zone such as Europe/Paris')
      .nullable(),
    digestEnabled: z.boolean(),
    digestFrequency: z.enum(DIGEST_FREQUENCIES),
    digestMinute: z.number().int().min(0).max(1439),
    digestWeekday: z.number().int().min(0).max(6).nullable(),
  })
  .partial()
  .strict();

export type PreferencesPatch = z.infer<typeof patchSchema>;

type Row = ConsoleStore['t']['userPreferencesTable']['$inferSelect'];

function fromRow(row: Row | undefined): Preferences {
  if (!row) return { ...DEFAULT_PREFERENCES };
  return {
    pageSize: row.pageSize,
    language: row.language,
    timeZone: row.timeZone,
    digestEnabled: row.digestEnabled,
    digestFrequency: (DIGEST_FREQUENCIES as readonly string[]).includes(row.digestFrequency)
      ? (row.digestFrequency as DigestFrequency)
      : 'daily',
    digestMinute: row.digestMinute,
    digestWeekday: row.digestWeekday,
    lastDigestAt: row.lastDigestAt,
    nextDigestAt: row.nextDigestAt,
  };
}

export async function preferencesOf(store: ConsoleStore, accountId: number): Promise<Preferences> {
  const t = store.t.userPreferencesTable;
  const [row] = await store.connection.db.select().from(t).where(eq(t.accountId, accountId));
  return fromRow(row);
}

function ownAccount(actor: Actor): number {
  if (actor.kind !== 'account') throw new ForbiddenError('preferences belong to console accounts');
  return actor.accountId;
}

export async function getMyPreferences(store: ConsoleStore, actor: Actor): Promise<Preferences> {
  return preferencesOf(store, ownAccount(actor));
}

/**
 * Changes the caller's preferences; null clears an optional one. Turning the digest on (or moving its
 * time) schedules the next one; the first covers the day (week) before it.
 */
export async function updateMyPreferences(
  store: ConsoleStore,
  actor: Actor,
  patch: PreferencesPatch,
  ip?: string | null,
  now = new Date(),
): Promise<Preferences> {
  const accountId = ownAccount(actor);
  const parsed = patchSchema.safeParse(patch);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InputError(`${issue?.path.join('.') || 'preferences'}: ${issue?.message ?? 'invalid value'}`);
  }
  const current = await preferencesOf(store, accountId);
  const next: Preferences = { ...current, ...parsed.data };
  if (next.digestFrequency === 'weekly' && next.digestWeekday === null) {
    throw new InputError('digestWeekday: a weekly digest needs a weekday (0 = Sunday … 6 = Saturday)');
  }
  const timingChanged =
    next.digestEnabled !== current.digestEnabled ||
    next.digestFrequency !== current.digestFrequency ||
    next.digestMinute !== current.digestMinute ||
    next.digestWeekday !== current.digestWeekday ||
    next.timeZone !== current.timeZone;
  if (timingChanged || (next.digestEnabled && !next.nextDigestAt)) {
    next.nextDigestAt = next.digestEnabled
      ? nextDigestAt(
          {
            frequency: next.digestFrequency,
            minute: next.digestMinute,
            weekday: next.digestWeekday,
            timeZone: next.timeZone,
          },
          now,
        )
      : null;
  }
  const t = store.t.userPreferencesTable;
  const values = {
    pageSize: next.pageSize,
    language: next.language,
    timeZone: next.timeZone,
    digestEnabled: next.digestEnabled,
    digestFrequency: next.digestFrequency,
    digestMinute: next.digestMinute,
    digestWeekday: next.digestWeekday,
    nextDigestAt: next.nextDigestAt,
  };
  const { db } = store.connection;
  await db.transaction(async (tx) => {
    const [exists] = await tx.select({ id: t.accountId }).from(t).where(eq(t.accountId, accountId));
    if (exists) await tx.update(t).set(values).where(eq(t.accountId, accountId));
    else await tx.insert(t).values({ accountId, ...values });
  });
  await recordAudit(store, {
    actor,
    action: 'preferences.update',
    outcome: 'success',
    target: Object.keys(parsed.data).join(', '),
    detail: parsed.data,
    ip,
  });
  return next;
}
