// The audit trail: every login, view and action, with its outcome. Services call recordAudit; the
// audit feature reads it back.

import { type Actor, actorLabel } from '../access/actor.ts';
import { ForbiddenError } from '../access/forbidden-error.ts';
import type { ConsoleStore } from '../db/stores.ts';

export type AuditOutcome = 'success' | 'denied' | 'failure';

export interface AuditEntry {
  actor: Actor;
  /** Who, when the actor is anonymous but claimed an identity (e.g. a failed login's address). */
  claimedActor?: string;
  /** The account concerned when the actor is not (yet) it: a successful login. */
  accountId?: number;
  action: string;
  outcome: AuditOutcome;
  target?: string;
  /** The mail domain concerned, so its admins see the entry. */
  domain?: string | null;
  detail?: Record<string, unknown>;
  ip?: string | null;
}

const SECRET_KEY = /pass|secret|token|cookie|session|authorization/i;

/** Drops anything that looks like a credential, however deep, before it is stored. */
function scrub(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(scrub);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, v]) => [key, SECRET_KEY.test(key) ? '[redacted]' : scrub(v)]),
    );
  }
  return value;
}

export async function recordAudit(store: ConsoleStore, entry: AuditEntry): Promise<void> {
  const { actor } = entry;
  await store.connection.db.insert(store.t.auditLogTable).values({
    at: new Date(),
    actorAccountId: actor.kind === 'account' ? actor.accountId : (entry.accountId ?? null),
    actor: (entry.claimedActor ?? actorLabel(actor)).slice(0, 320),
    action: entry.action,
    outcome: entry.outcome,
    target: (entry.target ?? '').slice(0, 2000),
    domain: entry.domain ?? null,
    detail: entry.detail ? scrub(entry.detail) : null,
    ip: entry.ip ?? null,
  });
}

/** What a service's action concerns, for its audit entries. */
export interface AuditFacts {
  action: string;
  target: string;
  /** The mail domains concerned; one entry is written per domain, so each one's admins see it. */
  domains?: readonly (string | null | undefined)[];
  detail?: Record<string, unknown>;
}

/** Records an action (or its refusal) by `actor`, once per domain it concerns. */
export async function recordAction(
  store: ConsoleStore,
  actor: Actor,
  client: { ip?: string | null },
  outcome: AuditOutcome,
  facts: AuditFacts,
): Promise<void> {
  const domains = [...new Set((facts.domains ?? []).filter((d): d is string => Boolean(d)))];
  for (const domain of domains.length > 0 ? domains : [null]) {
    await recordAudit(store, {
      actor,
      action: facts.action,
      outcome,
      target: facts.target,
      domain: domain?.slice(0, 255) ?? null,
      detail: facts.detail,
      ip: client.ip,
    });
  }
}

/** Audits a refusal, then refuses with `reason`. */
export async function refuseAction(
  store: ConsoleStore,
  actor: Actor,
  client: { ip?: string | null },
  facts: AuditFacts,
  reason: string,
): Promise<never> {
  await recordAction(store, actor, client, 'denied', { ...facts, detail: { ...facts.detail, reason } });
  throw new ForbiddenError(reason);
}
