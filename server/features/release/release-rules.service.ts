// What users may do with each verdict: release it themselves, only ask an admin, or not touch it (as
// Microsoft 365's quarantine policies). Superadmins set the global rules (a setting); a domain's
// admins may tighten them for their domain, never loosen them. Admins always release directly.
import { and, eq, inArray } from 'drizzle-orm';
import type { Actor } from '../../access/actor.ts';
import { AddressError, normaliseDomain } from '../../access/address-matching.ts';
import { ForbiddenError } from '../../access/forbidden-error.ts';
import { CONTENT_KINDS, type ContentKind } from '../../amavis/codes.ts';
import { recordAudit } from '../../audit/audit-log.ts';
import type { ConsoleStore } from '../../db/stores.ts';
import { InputError } from '../../input-error.ts';
import type { ClientInfo } from '../auth/auth.service.ts';
import {
  RELEASE_PERMISSIONS,
  type ReleasePermission,
  type ReleaseRules,
  type Settings,
  updateSettings,
} from '../settings/settings.service.ts';

const RANK: Record<ReleasePermission, number> = { none: 0, request: 1, release: 2 };

function stricter(a: ReleasePermission, b: ReleasePermission): ReleasePermission {
  return RANK[a] <= RANK[b] ? a : b;
}

export type DomainOverrides = Partial<Record<ContentKind, ReleasePermission>>;

/** What a user may do with one verdict, given the global rules, the domain's overrides and userCanRelease. */
export function userPermission(
  settings: Settings,
  overrides: DomainOverrides | undefined,
  kind: ContentKind,
): ReleasePermission {
  let permission = settings.releaseRules[kind];
  const own = overrides?.[kind];
  if (own) permission = stricter(permission, own);
  // modoboa's switch: without it users never release directly, whatever the rules say
  if (!settings.userCanRelease) permission = stricter(permission, 'request');
  return permission;
}

/** The domain (by name or alias) each recipient domain belongs to, with its overrides. */
export async function overridesForDomains(
  store: ConsoleStore,
  recipientDomains: readonly string[],
): Promise<Map<string, DomainOverrides>> {
  const result = new Map<string, DomainOverrides>();
  const names = [...new Set(recipientDomains.map((d) => d.toLowerCase()))];
  if (names.length === 0) return result;
  const { db } = store.connection;
  const { domainsTable: d, domainAliasesTable: a, domainReleaseRulesTable: rules } = store.t;
  const owners = new Map<string, number>();
  for (const row of await db.select({ id: d.id, name: d.name }).from(d).where(inArray(d.name, names))) {
    owners.set(row.name, row.id);
  }
  const aliases = await db.select({ id: a.domainId, name: a.name }).from(a).where(inArray(a.name, names));
  for (const row of aliases) owners.set(row.name, row.id);
  const ids = [...new Set(owners.values())];
  if (ids.length === 0) return result;
  const byDomain = new Map<number, DomainOverrides>();
  for (const row of await db.select().from(rules).where(inArray(rules.domainId, ids))) {
    const overrides = byDomain.get(row.domainId) ?? {};
    if ((CONTENT_KINDS as readonly string[]).includes(row.contentKind)) {
      overrides[row.contentKind as ContentKind] = row.permission as ReleasePermission;
    }
    byDomain.set(row.domainId, overrides);
  }
  for (const [name, id] of owners) result.set(name, byDomain.get(id) ?? {});
  return result;
}

export interface ReleaseRulesView {
  /** The domain asked about, or null for the global rules. */
  domain: string | null;
  global: ReleaseRules;
  /** The domain's own choices (only the kinds it tightens). */
  overrides: DomainOverrides;
  /** What a user of the domain may do, userCanRelease included. */
  effective: ReleaseRules;
}

async function domainId(store: ConsoleStore, name: string): Promise<number | null> {
  const { db } = store.connection;
  const { domainsTable: d } = store.t;
  const [row] = await db.select({ id: d.id }).from(d).where(eq(d.name, name));
  return row?.id ?? null;
}

function domainName(domain: string): string {
  try {
    return normaliseDomain(domain);
  } catch (error) {
    if (error instanceof AddressError) throw new InputError(error.message);
    throw error;
  }
}

function mayManage(actor: Actor, domain: string): boolean {
  return (
    (actor.kind === 'account' && actor.role === 'superadmin') ||
    (actor.kind === 'account' && actor.domains.includes(domain))
  );
}

export async function getReleaseRules(
  store: ConsoleStore,
  actor: Actor,
  settings: Settings,
  domain: string | null,
): Promise<ReleaseRulesView> {
  const effective = (overrides: DomainOverrides) =>
    Object.fromEntries(CONTENT_KINDS.map((k) => [k, userPermission(settings, overrides, k)])) as ReleaseRules;
  if (domain === null) {
    return { domain: null, global: settings.releaseRules, overrides: {}, effective: effective({}) };
  }
  const name = domainName(domain);
  if (!mayManage(actor, name)) throw new ForbiddenError(`you do not administer ${name}`);
  const overrides = (await overridesForDomains(store, [name])).get(name) ?? {};
  return { domain: name, global: settings.releaseRules, overrides, effective: effective(overrides) };
}

/** Replaces the global rules (superadmins). */
export async function setGlobalReleaseRules(
  store: ConsoleStore,
  actor: Actor,
  settings: Settings,
  changes: DomainOverrides,
  client: ClientInfo,
): Promise<ReleaseRulesView> {
  const next = await updateSettings(
    store,
    actor,
    { releaseRules: { ...settings.releaseRules, ...changes } },
    client.ip,
  );
  return getReleaseRules(store, actor, next, null);
}

/**
 * Sets a domain's overrides (its admins or superadmins): `changes` maps a kind to a permission, or to
 * null to follow the global rule again. A permission looser than the global rule is refused.
 */
export async function setDomainReleaseRules(
  store: ConsoleStore,
  actor: Actor,
  settings: Settings,
  domain: string,
  changes: Partial<Record<ContentKind, ReleasePermission | null>>,
  client: ClientInfo,
): Promise<ReleaseRulesView> {
  const name = domainName(domain);
  const id = mayManage(actor, name) ? await domainId(store, name) : null;
  if (id === null) {
    await recordAudit(store, {
      actor,
      action: 'releaseRules.set',
      outcome: 'denied',
      target: name,
      domain: name,
      ip: client.ip,
    });
    throw new ForbiddenError(`${name} is not a domain you administer`);
  }
  for (const [kind, permission] of Object.entries(changes)) {
    if (!(CONTENT_KINDS as readonly string[]).includes(kind)) throw new InputError(`unknown kind ${kind}`);
    if (permission && !RELEASE_PERMISSIONS.includes(permission)) {
      throw new InputError(`unknown permission ${permission}`);
    }
    const global = settings.releaseRules[kind as ContentKind];
    if (permission && RANK[permission] > RANK[global]) {
      throw new InputError(
        `${kind}: a domain may only tighten the global rule (${global}), not loosen it to ${permission}`,
      );
    }
  }
  const { db } = store.connection;
  const rules = store.t.domainReleaseRulesTable;
  const kinds = Object.keys(changes);
  await db.transaction(async (tx) => {
    if (kinds.length > 0) {
      await tx.delete(rules).where(and(eq(rules.domainId, id), inArray(rules.contentKind, kinds)));
    }
    const rows = Object.entries(changes)
      .filter(([, permission]) => permission)
      .map(([contentKind, permission]) => ({ domainId: id, contentKind, permission: permission as string }));
    if (rows.length > 0) await tx.insert(rules).values(rows);
  });
  await recordAudit(store, {
    actor,
    action: 'releaseRules.set',
    outcome: 'success',
    target: name,
    domain: name,
    detail: { changes },
    ip: client.ip,
  });
  return getReleaseRules(store, actor, settings, name);
}
