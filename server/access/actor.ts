// Who is asking. Resolved once per operation (server/access/resolve-actor.ts) and passed to services,
// which scope every query by it. Nothing here knows about GraphQL.

export const ROLES = ['superadmin', 'domainadmin', 'user'] as const;
export type Role = (typeof ROLES)[number];

/** What a credential allows: tokens may be created read-only. */
export type Access = 'full' | 'read';

export interface AccountActor {
  kind: 'account';
  accountId: number;
  email: string;
  role: Role;
  /** Mail addresses the account owns (primary first), as stored: normalised. */
  addresses: string[];
  /**
   * Other accounts' addresses that look like extensions of this account's (john-doe@ for john@): real
   * mailboxes, which the extension match must not take.
   */
  othersAddresses: string[];
  /** Domains (and alias domains) a domain admin administers, normalised. Empty for others. */
  domains: string[];
  access: Access;
  via: 'session' | 'token';
  sessionId?: string;
  tokenId?: number;
}

/** A recipient acting on one quarantined message through amavisd's notification link. */
export interface SelfServiceActor {
  kind: 'selfService';
  partitionTag: number;
  mailId: string;
  recipient: string;
  sessionId: string;
}

export interface AnonymousActor {
  kind: 'anonymous';
}

export type Actor = AccountActor | SelfServiceActor | AnonymousActor;

export const ANONYMOUS: AnonymousActor = { kind: 'anonymous' };

export function isSuperadmin(actor: Actor): actor is AccountActor {
  return actor.kind === 'account' && actor.role === 'superadmin';
}

export function isAdmin(actor: Actor): actor is AccountActor {
  return actor.kind === 'account' && (actor.role === 'superadmin' || actor.role === 'domainadmin');
}

/** A short, secret-free description for logs and the audit trail. */
export function actorLabel(actor: Actor): string {
  if (actor.kind === 'account')
    return actor.via === 'token' ? `${actor.email} (token ${actor.tokenId})` : actor.email;
  if (actor.kind === 'selfService') return `self-service ${actor.recipient} for ${actor.mailId}`;
  return 'anonymous';
}
