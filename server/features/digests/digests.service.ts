// Quarantine digests: one mail per person who opted in and is due, across all their addresses, listing
// the mail quarantined for them since their last digest, each with one-click links (release or request
// release per the release rules, delete, allow sender, block sender). The links carry action tokens; see
// action-tokens.service.ts and actions.routes.ts.
import { and, eq, lte } from 'drizzle-orm';
import type { AccountActor } from '../../access/actor.ts';
import { loadAccountActor } from '../../access/resolve-actor.ts';
import { describeContent } from '../../amavis/codes.ts';
import { changedRows } from '../../db/database.ts';
import type { Stores } from '../../db/stores.ts';
import type { Logger } from '../../log.ts';
import {
  escapeHtml,
  htmlDocument,
  htmlLink,
  NO_PUBLIC_URL_NOTE,
  plainLine,
} from '../../mail/mail-templates.ts';
import type { Mailer } from '../../mail/mailer.ts';
import { type DigestTiming, nextDigestAt } from '../preferences/digest-schedule.ts';
import { preferencesOf } from '../preferences/preferences.service.ts';
import { listQuarantine, type QuarantineEntry } from '../quarantine/quarantine.service.ts';
import { administers } from '../release/release.service.ts';
import { overridesForDomains, userPermission } from '../release/release-rules.service.ts';
import { getSettings, type Settings } from '../settings/settings.service.ts';
import { issueActionTokens, type TokenAction, type TokenScope } from './action-tokens.service.ts';

/** The most messages one digest lists; the rest wait in the console. */
export const DIGEST_MAX_ITEMS = 100;
/** The most people one run mails; the next run takes the others. */
const MAX_PEOPLE_PER_RUN = 500;

export const ACTIONS_PATH = '/actions/';

export interface MailJobDeps {
  stores: Stores;
  mailer: Mailer;
  /** PUBLIC_URL: links are built from it; without it mails say so and carry none. */
  publicUrl: string | null;
  log: Logger;
}

export interface DigestsOptions {
  dryRun?: boolean;
  now?: Date;
  signal?: AbortSignal;
}

export interface DigestsSummary {
  dryRun: boolean;
  /** People whose digest was due. */
  due: number;
  /** Digests mailed (dry run: that would be mailed). */
  sent: number;
  /** Due, but nothing new was quarantined for them. */
  empty: number;
  /** Mails the relay refused; those messages stay for the next digest. */
  failed: number;
  /** Taken by another run meanwhile, or the account is disabled or has no address. */
  skipped: number;
  /** Messages listed across all digests. */
  messages: number;
  linksIncluded: boolean;
}

const LABELS: Record<TokenAction, string> = {
  release: 'Release',
  request: 'Request release',
  delete: 'Delete',
  'allow-sender': 'Always allow sender',
  'block-sender': 'Always block sender',
};

function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}

interface DigestItem {
  entry: QuarantineEntry;
  links: { action: TokenAction; url: string }[];
}

/** The actions offered for an entry, as the person could take them in the console today. */
async function offeredActions(
  stores: Stores,
  actor: AccountActor,
  settings: Settings,
  entries: readonly QuarantineEntry[],
): Promise<TokenAction[][]> {
  const overrides = await overridesForDomains(
    stores.console,
    entries.map((e) => domainOf(e.recipient)),
  );
  return entries.map((entry) => {
    const actions: TokenAction[] = [];
    const permission = administers(actor, entry.recipient)
      ? 'release'
      : userPermission(
          settings,
          overrides.get(domainOf(entry.recipient)),
          describeContent(entry.contentCode).kind,
        );
    if (permission === 'release') actions.push('release');
    else if (permission === 'request' && entry.statusCode !== 'p') actions.push('request');
    actions.push('delete');
    // sender lists: admins for their domains; users only where the settings let them keep their own
    const lists = administers(actor, entry.recipient) || settings.userSenderLists;
    if (entry.envelopeSender && lists) actions.push('allow-sender', 'block-sender');
    return actions;
  });
}

function when(date: Date, timeZone: string | null): string {
  try {
    return new Intl.DateTimeFormat('en-GB', {
      dateStyle: 'medium',
      timeStyle: 'short',
      timeZone: timeZone ?? undefined,
    }).format(date);
  } catch {
    return date.toISOString();
  }
}

function renderDigest(
  items: readonly DigestItem[],
  more: boolean,
  timeZone: string | null,
  publicUrl: string | null,
): { subject: string; text: string; html: string } {
  const count = `${items.length}${more ? '+' : ''}`;
  const subject = `Quarantine digest: ${count} new message${items.length === 1 && !more ? '' : 's'}`;
  const intro =
    'These messages were quarantined for you since your last digest. Each link opens a confirmation ' +
    'page; nothing happens until you confirm there. Links work once and for 7 days.';
  const textItems = items.map((item, i) => {
    const e = item.entry;
    const lines = [
      `${i + 1}. ${plainLine(e.subject || '(no subject)')}`,
      `   From: ${plainLine(e.fromHeader || e.envelopeSender || '<>')}`,
      `   To: ${plainLine(e.recipient)}   Received: ${when(e.receivedAt, timeZone)}   ${describeContent(e.contentCode).label}`,
      ...item.links.map((link) => `   ${LABELS[link.action]}: ${link.url}`),
    ];
    return lines.join('\n');
  });
  const tail = more ? '\nMore messages are waiting; open the console to see them all.\n' : '';
  const note = publicUrl ? '' : `\n${NO_PUBLIC_URL_NOTE}\n`;
  const text = `${intro}\n${note}\n${textItems.join('\n\n')}\n${tail}`;
  const rows = items
    .map((item) => {
      const e = item.entry;
      const links = item.links.map((link) => htmlLink(link.url, LABELS[link.action])).join(' · ');
      return `<tr style="border-top: 1px solid #ddd;">
<td style="padding: 0.4rem 0.5rem 0.4rem 0; vertical-align: top;"><strong>${escapeHtml(plainLine(e.subject || '(no subject)'))}</strong><br>
From ${escapeHtml(plainLine(e.fromHeader || e.envelopeSender || '<>'))} to ${escapeHtml(plainLine(e.recipient))}<br>
<small>${escapeHtml(when(e.receivedAt, timeZone))} · ${escapeHtml(describeContent(e.contentCode).label)}</small></td>
<td style="padding: 0.4rem 0; vertical-align: top;">${links}</td>
</tr>`;
    })
    .join('\n');
  const html = htmlDocument(
    subject,
    `<p>${escapeHtml(intro)}</p>
${publicUrl ? '' : `<p><strong>${escapeHtml(NO_PUBLIC_URL_NOTE)}</strong></p>`}
<table style="border-collapse: collapse; width: 100%;">
${rows}
</table>
${more ? `<p>${escapeHtml('More messages are waiting; open the console to see them all.')}</p>` : ''}`,
  );
  return { subject, text, html };
}

/** Sends the digests that are due. Each person's schedule is claimed first, so a digest goes out once. */
export async function runDigests(deps: MailJobDeps, options: DigestsOptions = {}): Promise<DigestsSummary> {
  const { stores, mailer, publicUrl, log } = deps;
  const dryRun = options.dryRun ?? false;
  const now = options.now ?? new Date();
  const summary: DigestsSummary = {
    dryRun,
    due: 0,
    sent: 0,
    empty: 0,
    failed: 0,
    skipped: 0,
    messages: 0,
    linksIncluded: publicUrl !== null,
  };
  if (!publicUrl) log.warn('PUBLIC_URL is not set: digests are sent without action links');
  const settings = await getSettings(stores.console);
  const p = stores.console.t.userPreferencesTable;
  const a = stores.console.t.accountsTable;
  const due = await stores.console.connection.db
    .select({ accountId: p.accountId, email: a.email, nextDigestAt: p.nextDigestAt })
    .from(p)
    .innerJoin(a, eq(a.id, p.accountId))
    .where(and(eq(p.digestEnabled, true), lte(p.nextDigestAt, now), eq(a.disabled, false)))
    .orderBy(p.nextDigestAt)
    .limit(MAX_PEOPLE_PER_RUN);
  summary.due = due.length;
  for (const person of due) {
    if (options.signal?.aborted) break;
    try {
      const prefs = await preferencesOf(stores.console, person.accountId);
      const timing: DigestTiming = {
        frequency: prefs.digestFrequency,
        minute: prefs.digestMinute,
        weekday: prefs.digestWeekday,
        timeZone: prefs.timeZone,
      };
      const actor = await loadAccountActor(stores.console, person.accountId, {
        access: 'full',
        via: 'session',
      });
      const since =
        prefs.lastDigestAt ??
        new Date(now.getTime() - (prefs.digestFrequency === 'weekly' ? 7 : 1) * 24 * 3600_000);
      // a digest is about the person's own addresses, also for admins (their domains are the console's job)
      const own: AccountActor | null = actor ? { ...actor, role: 'user', domains: [] } : null;
      const entries =
        own && own.addresses.length > 0
          ? (
              await listQuarantine(
                stores.amavis,
                { actor: own, settings },
                { first: DIGEST_MAX_ITEMS + 1 },
                { receivedFrom: since, receivedBefore: now, statuses: ['new', 'viewed', 'pending'] },
              )
            ).items
          : [];
      if (dryRun) {
        if (!own) summary.skipped++;
        else if (entries.length === 0) summary.empty++;
        else {
          summary.sent++;
          summary.messages += Math.min(entries.length, DIGEST_MAX_ITEMS);
        }
        continue;
      }
      // claim this digest: of two runs, only the one whose update lands sends it
      const claim = await stores.console.connection.db
        .update(p)
        .set({ lastDigestAt: now, nextDigestAt: nextDigestAt(timing, now) })
        .where(and(eq(p.accountId, person.accountId), eq(p.nextDigestAt, person.nextDigestAt as Date)));
      if (changedRows(claim) !== 1 || !actor || !own) {
        summary.skipped++;
        continue;
      }
      if (entries.length === 0) {
        summary.empty++;
        continue;
      }
      const listed = entries.slice(0, DIGEST_MAX_ITEMS);
      const offered = await offeredActions(stores, actor, settings, listed);
      const scopes: TokenScope[] = publicUrl
        ? listed.flatMap((entry, i) =>
            (offered[i] ?? []).map((action) => ({
              accountId: person.accountId,
              action,
              partitionTag: entry.partitionTag,
              mailId: entry.mailId,
              rseqnum: entry.rseqnum,
              recipient: entry.recipient,
            })),
          )
        : [];
      const tokens = await issueActionTokens(stores.console, scopes, now);
      let next = 0;
      const items: DigestItem[] = listed.map((entry, i) => ({
        entry,
        links: publicUrl
          ? (offered[i] ?? []).map((action) => ({
              action,
              url: `${publicUrl}${ACTIONS_PATH}${tokens[next++] ?? ''}`,
            }))
          : [],
      }));
      const mail = renderDigest(items, entries.length > DIGEST_MAX_ITEMS, prefs.timeZone, publicUrl);
      const result = await mailer.send({ from: settings.notificationsSender, to: person.email, ...mail });
      if (result.sent) {
        summary.sent++;
        summary.messages += listed.length;
      } else {
        summary.failed++;
        // not sent: these messages belong in the next digest
        await stores.console.connection.db
          .update(p)
          .set({ lastDigestAt: prefs.lastDigestAt })
          .where(eq(p.accountId, person.accountId));
        log.warn({ account: person.email, err: result.error }, 'digest not sent');
      }
    } catch (error) {
      // one person's trouble (an address the listing cannot match…) must not stop the others' digests
      summary.failed++;
      log.error({ err: error, account: person.email }, 'digest failed');
    }
  }
  return summary;
}
