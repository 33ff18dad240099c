// Training SpamAssassin's Bayes filter from quarantined mail, at the global, domain or user level,
// with the username amavisd scans that recipient with, so training takes effect. Combined actions:
// "not spam" learns ham and releases; "spam" learns spam and deletes.
import { count, eq } from 'drizzle-orm';
import type { Actor } from '../../access/actor.ts';
import { ForbiddenError } from '../../access/forbidden-error.ts';
import { scanUsername } from '../../amavis/policy-lookup.ts';
import { loadQuarantinedMessage } from '../../amavis/quarantine-reassembly.ts';
import type { AmavisStore } from '../../db/stores.ts';
import { recordQuarantineEvents } from '../../events/quarantine-events.ts';
import { InputError } from '../../input-error.ts';
import {
  checkBayesUsername,
  type LearnerConfig,
  type LearnKind,
  learnMessages,
} from '../../mail/spam-learner.ts';
import { type EntryKey, entryKeyString, type QuarantineEntry } from '../quarantine/quarantine.service.ts';
import {
  type ActionContext,
  type ActionResult,
  administers,
  auditPairs,
  checkBatch,
  deleteMessages,
  releaseMessages,
  setStatus,
  visibleSlots,
} from '../release/release.service.ts';
import type { Settings } from '../settings/settings.service.ts';

export const LEARN_LEVELS = ['global', 'domain', 'user'] as const;
export type LearnLevel = (typeof LEARN_LEVELS)[number];

export interface MarkOptions {
  as: LearnKind;
  /** Which Bayes database; the caller's default when omitted. */
  level?: LearnLevel;
  /** With ham: release the messages too. */
  release?: boolean;
  /** With spam: delete the messages too. */
  delete?: boolean;
}

export function learnerConfig(settings: Settings): LearnerConfig {
  return settings.saIsLocal
    ? { mode: 'local' }
    : { mode: 'remote', host: settings.spamdAddress, port: settings.spamdPort };
}

/** The levels the actor may train (modoboa's manual_learning, domain_ and user_level_learning). */
export function allowedLevels(actor: Actor, settings: Settings): LearnLevel[] {
  if (!settings.manualLearning || actor.kind === 'anonymous') return [];
  const levels: LearnLevel[] = [];
  const role = actor.kind === 'account' ? actor.role : 'user';
  if (role === 'superadmin') levels.push('global');
  if (role !== 'user' && settings.domainLevelLearning) levels.push('domain');
  if (settings.userLevelLearning) levels.push('user');
  return levels;
}

function defaultLevel(actor: Actor, allowed: LearnLevel[]): LearnLevel | undefined {
  const role = actor.kind === 'account' ? actor.role : 'user';
  const preference: LearnLevel[] =
    role === 'superadmin'
      ? ['global', 'domain', 'user']
      : role === 'domainadmin'
        ? ['domain', 'user']
        : ['user'];
  return preference.find((level) => allowed.includes(level));
}

function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}

/**
 * Makes amavisd scan the lookup key `key` with Bayes user `username`: the key's own users row gets a
 * policy with that sa_username (a policy other rows share is copied first, so they are untouched).
 * Returns the username amavisd will use for the key, which an existing choice keeps.
 */
async function ensureScanUsername(
  store: AmavisStore,
  key: string,
  priority: number,
  username: string,
): Promise<string> {
  const { db } = store.connection;
  const u = store.t.usersTable;
  const p = store.t.policyTable;
  const email = Buffer.from(key, 'utf8');
  return db.transaction(async (tx) => {
    const [row] = await tx
      .select({ usersId: u.id, policyId: u.policyId, saUsername: p.saUsername })
      .from(u)
      .leftJoin(p, eq(p.id, u.policyId))
      .where(eq(u.email, email));
    if (row?.saUsername?.trim()) return row.saUsername.trim();
    const insertPolicy = async (values: Record<string, unknown>): Promise<number> => {
      if (store.connection.dialect === 'pg') {
        const [created] = await tx.insert(p).values(values).returning({ id: p.id });
        return created?.id ?? 0;
      }
      const result = (await tx.insert(p).values(values)) as unknown as [{ insertId: number }];
      return result[0].insertId;
    };
    if (!row) {
      const policyId = await insertPolicy({ policyName: key.slice(0, 32), saUsername: username });
      await tx.insert(u).values({ email, priority, policyId, fullname: null });
      return username;
    }
    const [shared] = await tx.select({ n: count() }).from(u).where(eq(u.policyId, row.policyId));
    if ((shared?.n ?? 0) <= 1) {
      await tx.update(p).set({ saUsername: username }).where(eq(p.id, row.policyId));
      return username;
    }
    const [original] = await tx.select().from(p).where(eq(p.id, row.policyId));
    const { id: _id, ...copy } = original ?? { id: 0 };
    const policyId = await insertPolicy({ ...copy, policyName: key.slice(0, 32), saUsername: username });
    await tx.update(u).set({ policyId }).where(eq(u.id, row.usersId));
    return username;
  });
}

/** The Bayes username for training `entry` at `level`, setting amavisd up to scan with it. */
async function bayesUsername(
  store: AmavisStore,
  settings: Settings,
  entry: QuarantineEntry,
  level: LearnLevel,
) {
  if (level === 'global') return settings.defaultUser;
  // amavisd's README.lookups priorities: 9 for a full address, 5 for @domain
  if (level === 'domain') {
    const domain = domainOf(entry.recipient);
    return ensureScanUsername(store, `@${domain}`, 5, domain);
  }
  await ensureScanUsername(store, entry.recipient, 9, entry.recipient);
  return scanUsername(store, entry.recipient, settings.recipientDelimiter, settings.defaultUser);
}

/**
 * Marks messages as spam or not spam: trains SpamAssassin with the raw bytes, sets rs 'S'/'H' where
 * it worked, and optionally releases (ham) or deletes (spam) them in the same call.
 */
export async function markMessages(
  context: ActionContext,
  keys: readonly (EntryKey | null)[],
  options: MarkOptions,
): Promise<ActionResult[]> {
  checkBatch(keys.length);
  const { actor, settings } = context.viewer;
  if (options.release && options.as !== 'ham') throw new InputError('release goes with "not spam" (ham)');
  if (options.delete && options.as !== 'spam') throw new InputError('delete goes with "spam"');
  const allowed = allowedLevels(actor, settings);
  const level = options.level ?? defaultLevel(actor, allowed);
  if (!level || !allowed.includes(level)) {
    throw new ForbiddenError(
      allowed.length === 0
        ? 'manual learning is not enabled for you'
        : `you may train the ${allowed.join(', ')} level(s), not ${options.level}`,
    );
  }
  const { slots, results } = await visibleSlots(context, keys);
  const items: { index: number; entry: QuarantineEntry; username: string; message: Buffer }[] = [];
  for (const { index, target, entry } of slots) {
    const fail = (outcome: 'failed' | 'forbidden', message: string) => {
      results[index] = { target, outcome, message, recipient: entry.recipient };
    };
    if (level === 'domain' && !administers(actor, entry.recipient)) {
      fail('forbidden', `you train ${domainOf(entry.recipient)}'s database only as its admin`);
      continue;
    }
    let username: string;
    try {
      username = checkBayesUsername(await bayesUsername(context.stores.amavis, settings, entry, level));
    } catch (error) {
      fail('failed', error instanceof Error ? error.message : String(error));
      continue;
    }
    const stored = await loadQuarantinedMessage(context.stores.amavis, entry);
    if (!stored || stored.problems.length > 0) {
      fail('failed', `the quarantined copy is incomplete: ${stored?.problems.join('; ') ?? 'it is gone'}`);
      continue;
    }
    items.push({ index, entry, username, message: stored.raw });
  }

  const learned = await learnMessages(
    learnerConfig(settings),
    items.map((item) => ({ kind: options.as, username: item.username, message: item.message })),
  );
  const done: QuarantineEntry[] = [];
  learned.forEach((result, i) => {
    const item = items[i] as (typeof items)[number];
    const ok = result.ok;
    if (ok) done.push(item.entry);
    results[item.index] = {
      target: entryKeyString(item.entry),
      outcome: ok ? 'learned' : 'failed',
      message: ok
        ? `${result.alreadyLearned ? 'already learned' : 'learned'} as ${options.as} for ${item.username}`
        : result.error,
      recipient: item.entry.recipient,
    };
  });
  await setStatus(context.stores.amavis, done, options.as === 'spam' ? 'S' : 'H', ['R', 'D', 'p']);
  await recordQuarantineEvents(
    context.stores.console,
    'learned',
    done,
    actor,
    options.as === 'spam' ? 'S' : 'H',
  );
  await auditPairs(
    context.stores.console,
    actor,
    `message.learn${options.as === 'spam' ? 'Spam' : 'Ham'}`,
    results,
    context.client,
    {
      level,
    },
  );

  // the follow-up action only for what was learned; its own outcome replaces "learned" when it fails
  const followUp = options.release ? releaseMessages : options.delete ? deleteMessages : null;
  if (followUp && done.length > 0) {
    const after = await followUp(context, done);
    const byTarget = new Map(after.map((r) => [r.target, r]));
    for (const [index, result] of results.entries()) {
      const next = result.outcome === 'learned' ? byTarget.get(result.target) : undefined;
      if (next) {
        results[index] =
          next.outcome === 'released' || next.outcome === 'deleted' || next.outcome === 'alreadyReleased'
            ? { ...next, message: result.message }
            : { ...next, message: `${result.message}, but: ${next.message ?? next.outcome}` };
      }
    }
  }
  return results;
}
