// Which quarantine rows an actor may see, as one SQL condition on the recipient. Every query over
// msgrcpt (listing, opening, acting) ANDs this in, so scoping happens in the database, never after.
import { and, eq, or, type SQL, sql } from 'drizzle-orm';
import type { PgColumn } from 'drizzle-orm/pg-core';
import type { Settings } from '../features/settings/settings.service.ts';
import type { Actor } from './actor.ts';
import { domainCondition, recipientCondition, recipientMatcher } from './address-matching.ts';

export interface RecipientColumns {
  partitionTag: PgColumn;
  mailId: PgColumn;
  /** maddr.email of the recipient. */
  email: PgColumn;
  /** maddr.domain of the recipient (labels reversed). */
  domain: PgColumn;
}

const NOTHING = sql`1 = 0`;

export function visibleTo(actor: Actor, settings: Settings, columns: RecipientColumns): SQL | undefined {
  switch (actor.kind) {
    case 'anonymous':
      return NOTHING;
    case 'selfService':
      return and(
        eq(columns.partitionTag, actor.partitionTag),
        eq(columns.mailId, actor.mailId),
        eq(columns.email, Buffer.from(actor.recipient, 'utf8')),
      );
    case 'account': {
      if (actor.role === 'superadmin') return undefined;
      const own = recipientCondition(
        columns.email,
        recipientMatcher(actor.addresses, settings, { notOwned: actor.othersAddresses }),
      );
      if (actor.role === 'domainadmin') return or(domainCondition(columns.domain, actor.domains), own);
      return own;
    }
  }
}
