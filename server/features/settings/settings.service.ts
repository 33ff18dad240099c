// The console's settings (modoboa-amavis's parameters, with its defaults), stored one row per key.
import { inArray } from 'drizzle-orm';
import { z } from 'zod';
import { accessChanged } from '../../access/access-cache.ts';
import { type Actor, isSuperadmin } from '../../access/actor.ts';
import { checkRecipientDelimiter } from '../../access/address-matching.ts';
import { ForbiddenError } from '../../access/forbidden-error.ts';
import { CONTENT_KINDS, type ContentKind } from '../../amavis/codes.ts';
import { parsePdpEndpoint } from '../../amavis/pdp-endpoints.ts';
import { recordAudit } from '../../audit/audit-log.ts';
import type { ConsoleStore } from '../../db/stores.ts';
import { InputError } from '../../input-error.ts';
import { isCronExpression } from '../jobs/job-schedule.ts';
import { DEFAULT_DOMAIN_ADMIN_POLICY_FIELDS, POLICY_FIELD_KEYS } from '../policies/policy-fields.ts';

/** What a user may do with a quarantined message of one verdict (an admin may always release). */
export const RELEASE_PERMISSIONS = ['release', 'request', 'none'] as const;
export type ReleasePermission = (typeof RELEASE_PERMISSIONS)[number];
export type ReleaseRules = Record<ContentKind, ReleasePermission>;

/**
 * The global rules' defaults, as Microsoft 365's default quarantine policies: users deal with spam
 * and lesser verdicts themselves (within userCanRelease), ask for banned files and unchecked mail,
 * and never touch viruses.
 */
export const DEFAULT_RELEASE_RULES: ReleaseRules = {
  clean: 'release',
  spam: 'release',
  spammy: 'release',
  virus: 'none',
  badHeader: 'release',
  badMime: 'release',
  banned: 'request',
  oversized: 'release',
  mtaError: 'release',
  unchecked: 'request',
  other: 'request',
  unknown: 'request',
};

const releaseRulesSchema = z
  .object(
    Object.fromEntries(CONTENT_KINDS.map((kind) => [kind, z.enum(RELEASE_PERMISSIONS)])) as Record<
      ContentKind,
      z.ZodEnum<{ release: 'release'; request: 'request'; none: 'none' }>
    >,
  )
  .strict();

const endpointMapSchema = z
  .record(z.string().min(1).max(255), z.string().max(300))
  .superRefine((map, ctx) => {
    for (const [host, text] of Object.entries(map)) {
      try {
        parsePdpEndpoint(text);
      } catch (error) {
        ctx.addIssue({
          code: 'custom',
          message: `${host}: ${error instanceof Error ? error.message : String(error)}`,
        });
      }
    }
  });

const cronExpression = z
  .string()
  .max(100)
  .refine(isCronExpression, 'expected a cron expression: minute hour day-of-month month day-of-week');

export const settingsSchema = z
  .object({
    localpartIsCaseSensitive: z.boolean().default(false),
    recipientDelimiter: z
      .string()
      .max(8)
      .superRefine((value, ctx) => {
        try {
          checkRecipientDelimiter(value);
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message : String(error) });
        }
      })
      .default(''),
    maxMessagesAge: z.number().int().min(1).max(3650).default(14),
    releasedMsgsCleanup: z.boolean().default(false),
    amPdpMode: z.enum(['unix', 'inet']).default('unix'),
    amPdpHost: z.string().min(1).max(255).default('localhost'),
    amPdpPort: z.number().int().min(1).max(65535).default(9998),
    amPdpSocket: z.string().min(1).max(255).default('/var/lib/amavis/amavisd.sock'),
    amPdpEndpointsByHost: endpointMapSchema.default({}),
    userCanRelease: z.boolean().default(false),
    releaseRules: releaseRulesSchema.default(DEFAULT_RELEASE_RULES),
    selfService: z.boolean().default(false),
    notificationsSender: z.email().default('quarantine@localhost.localdomain'),
    manualLearning: z.boolean().default(true),
    saIsLocal: z.boolean().default(true),
    defaultUser: z.string().min(1).max(64).default('amavis'),
    spamdAddress: z.string().min(1).max(255).default('127.0.0.1'),
    spamdPort: z.number().int().min(1).max(65535).default(783),
    domainLevelLearning: z.boolean().default(false),
    userLevelLearning: z.boolean().default(false),
    // Background jobs (features/jobs): cron expressions, in the server's local time
    cleanupSchedule: cronExpression.default('30 3 * * *'),
    remindersSchedule: cronExpression.default('0 8 * * *'),
    digestsSchedule: cronExpression.default('*/5 * * * *'),
    // Policies and sender lists (features/policies, features/sender-lists; exposed there)
    domainAdminPolicyFields: z
      .array(z.enum(POLICY_FIELD_KEYS))
      .default([...DEFAULT_DOMAIN_ADMIN_POLICY_FIELDS]),
    userPolicyFields: z.array(z.enum(POLICY_FIELD_KEYS)).default([]),
    userSenderLists: z.boolean().default(true),
  })
  .strict();

export type Settings = z.infer<typeof settingsSchema>;
export type SettingKey = keyof Settings;

export const DEFAULT_SETTINGS: Settings = settingsSchema.parse({});
const KEYS = Object.keys(DEFAULT_SETTINGS) as SettingKey[];

/** Reads every setting; a stored value that no longer validates falls back to its default. */
export async function getSettings(store: ConsoleStore): Promise<Settings> {
  const rows = await store.connection.db.select().from(store.t.settingsTable);
  const settings: Record<string, unknown> = { ...DEFAULT_SETTINGS };
  for (const row of rows) {
    if (!(KEYS as string[]).includes(row.key)) continue;
    // Values are stored as {"v": value}: drivers hand JSON back decoded, or (some MariaDB/mysql2
    // combinations) as its text, and only an object makes the two impossible to confuse.
    const stored = typeof row.value === 'string' ? safeJson(row.value) : row.value;
    const value = stored && typeof stored === 'object' ? (stored as { v?: unknown }).v : undefined;
    const field = settingsSchema.shape[row.key as SettingKey];
    const parsed = field.safeParse(value);
    if (parsed.success) settings[row.key] = parsed.data;
  }
  return settings as Settings;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Changes some settings (superadmins only). Validates the whole result, writes all or nothing. */
export async function updateSettings(
  store: ConsoleStore,
  actor: Actor,
  patch: Partial<Settings>,
  ip?: string | null,
): Promise<Settings> {
  if (!isSuperadmin(actor)) {
    await recordAudit(store, { actor, action: 'settings.update', outcome: 'denied', ip });
    throw new ForbiddenError('only superadmins change settings');
  }
  const current = await getSettings(store);
  const parsed = settingsSchema.safeParse({ ...current, ...patch });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InputError(`${issue?.path.join('.') || 'settings'}: ${issue?.message ?? 'invalid value'}`);
  }
  const next = parsed.data;
  const changed = KEYS.filter((key) => JSON.stringify(next[key]) !== JSON.stringify(current[key]));
  if (changed.length > 0) {
    const { db } = store.connection;
    const table = store.t.settingsTable;
    await db.transaction(async (tx) => {
      await tx.delete(table).where(inArray(table.key, changed));
      await tx
        .insert(table)
        .values(changed.map((key) => ({ key, value: { v: next[key] }, updatedAt: new Date() })));
    });
    await accessChanged(store);
    await recordAudit(store, {
      actor,
      action: 'settings.update',
      outcome: 'success',
      target: changed.join(', '),
      detail: Object.fromEntries(changed.map((key) => [key, { from: current[key], to: next[key] }])),
      ip,
    });
  }
  return next;
}
