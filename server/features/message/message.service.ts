// Opening one quarantined message for one recipient: the parsed view, the raw source, attachments and
// the sanitised HTML. Every opening is scoped like the listing and audited; the recipient opening
// their own mail marks it viewed.
import { and, eq, inArray } from 'drizzle-orm';
import type { Actor } from '../../access/actor.ts';
import { loadQuarantinedMessage } from '../../amavis/quarantine-reassembly.ts';
import { recordAudit } from '../../audit/audit-log.ts';
import type { Stores } from '../../db/stores.ts';
import { recordQuarantineEvents } from '../../events/quarantine-events.ts';
import { attachmentContent, type ParsedMessage, parseMessage } from '../../mail/parse-message.ts';
import { sanitizeEmailHtml } from '../../mail/sanitize-html.ts';
import { ruleDescriptions } from '../../mail/spamassassin-rules.ts';
import type { ClientInfo } from '../auth/auth.service.ts';
import {
  type EntryKey,
  entryKeyString,
  findQuarantineEntries,
  type QuarantineEntry,
  type Viewer,
} from '../quarantine/quarantine.service.ts';

export interface OpenedMessage {
  entry: QuarantineEntry;
  parsed: ParsedMessage;
  rawSize: number;
  /** Problems with the stored copy (missing chunks) and with parsing it. */
  problems: string[];
}

async function visibleEntry(stores: Stores, viewer: Viewer, key: EntryKey): Promise<QuarantineEntry | null> {
  const [entry] = await findQuarantineEntries(stores.amavis, viewer, [key]);
  return entry ?? null;
}

/**
 * Whether the viewer is this entry's recipient (not an admin looking at someone else's mail). Users and
 * self-service links only see their own mail, so the visible entry answers for them; admins are asked
 * again as if they were plain users.
 */
async function isOwnRecipient(stores: Stores, viewer: Viewer, key: EntryKey): Promise<boolean> {
  const { actor } = viewer;
  if (actor.kind === 'selfService' || (actor.kind === 'account' && actor.role === 'user')) return true;
  if (actor.kind !== 'account') return false;
  const asUser: Actor = { ...actor, role: 'user', domains: [] };
  return (await visibleEntry(stores, { ...viewer, actor: asUser }, key)) !== null;
}

/**
 * rs moves from new (' ', which MariaDB returns as '') to viewed, and only from new: a pending
 * request (p), a release (R), learning marks (S, H) and deletion (D) are never overwritten.
 */
async function markViewed(stores: Stores, key: EntryKey): Promise<void> {
  const r = stores.amavis.t.msgrcptTable;
  await stores.amavis.connection.db
    .update(r)
    .set({ rs: 'V' })
    .where(
      and(
        eq(r.partitionTag, key.partitionTag),
        eq(r.mailId, key.mailId),
        eq(r.rseqnum, key.rseqnum),
        inArray(r.rs, [' ', '']),
      ),
    );
}

function domainOf(address: string): string | null {
  const at = address.lastIndexOf('@');
  return at >= 0 ? address.slice(at + 1).toLowerCase() : null;
}

async function audit(
  stores: Stores,
  viewer: Viewer,
  action: string,
  entry: QuarantineEntry | null,
  key: EntryKey,
  client: ClientInfo,
  detail?: Record<string, unknown>,
): Promise<void> {
  await recordAudit(stores.console, {
    actor: viewer.actor,
    action,
    outcome: entry ? 'success' : 'denied',
    target: entry ? `${entry.mailId} for ${entry.recipient}` : entryKeyString(key),
    domain: entry ? domainOf(entry.recipient) : null,
    detail,
    ip: client.ip,
  });
}

/** Opens a message: null when it does not exist or the viewer may not see it (audited either way). */
export async function openMessage(
  stores: Stores,
  viewer: Viewer,
  key: EntryKey,
  client: ClientInfo,
): Promise<OpenedMessage | null> {
  const entry = await visibleEntry(stores, viewer, key);
  if (!entry) {
    await audit(stores, viewer, 'message.view', null, key, client);
    return null;
  }
  const stored = await loadQuarantinedMessage(stores.amavis, key);
  const raw = stored?.raw ?? Buffer.alloc(0);
  // descriptions for rules X-Spam-Report does not describe, from the local SpamAssassin if installed
  const parsed = await parseMessage(raw, { ruleDescriptions: await ruleDescriptions() });
  const problems = [...(stored?.problems ?? ['the quarantined copy is gone']), ...parsed.problems];
  if (await isOwnRecipient(stores, viewer, key)) {
    await markViewed(stores, key);
    if (entry.statusCode.trim() === '') {
      entry.statusCode = 'V';
      await recordQuarantineEvents(stores.console, 'viewed', [entry], viewer.actor, 'V');
    }
  }
  await audit(stores, viewer, 'message.view', entry, key, client);
  return { entry, parsed, rawSize: raw.length, problems };
}

/** The entry, if visible, with its stored copy, if any: what every download starts from. */
async function visibleCopy(stores: Stores, viewer: Viewer, key: EntryKey) {
  const entry = await visibleEntry(stores, viewer, key);
  const stored = entry ? await loadQuarantinedMessage(stores.amavis, key) : null;
  return { entry, stored };
}

/** The message as amavisd stored it, byte for byte, for a .eml download. */
export async function rawMessage(
  stores: Stores,
  viewer: Viewer,
  key: EntryKey,
  client: ClientInfo,
): Promise<{ entry: QuarantineEntry; raw: Buffer } | null> {
  const { entry, stored } = await visibleCopy(stores, viewer, key);
  await audit(stores, viewer, 'message.download', stored ? entry : null, key, client);
  return entry && stored ? { entry, raw: stored.raw } : null;
}

/** One attachment, by MIME part id. */
export async function messageAttachment(
  stores: Stores,
  viewer: Viewer,
  key: EntryKey,
  partId: string,
  client: ClientInfo,
): Promise<{ filename: string; contentType: string; content: Buffer } | null> {
  const { entry, stored } = await visibleCopy(stores, viewer, key);
  const part = stored ? await attachmentContent(stored.raw, partId) : null;
  await audit(stores, viewer, 'message.attachment', part ? entry : null, key, client, { partId });
  return part;
}

/** The HTML body, sanitised, for the sandboxed viewer frame. */
export async function messageHtml(
  stores: Stores,
  viewer: Viewer,
  key: EntryKey,
  allowRemoteImages: boolean,
): Promise<{ html: string; blockedRemoteResources: number } | null> {
  const { stored } = await visibleCopy(stores, viewer, key);
  if (!stored) return null;
  const parsed = await parseMessage(stored.raw);
  if (parsed.html === null) return null;
  return sanitizeEmailHtml(parsed.html, { allowRemoteImages });
}
