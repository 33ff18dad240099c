// Reminders (modoboa-amavis's amnotify, done right): one mail per admin listing the release requests
// still pending that they may decide: superadmins all of them, domain admins their domains' (aliases
// included). Links come from PUBLIC_URL; without it the mail says so instead of carrying broken links.
import { and, asc, eq, inArray } from 'drizzle-orm';
import { loadAccountActor } from '../../access/resolve-actor.ts';
import { describeContent } from '../../amavis/codes.ts';
import {
  escapeHtml,
  htmlDocument,
  htmlLink,
  NO_PUBLIC_URL_NOTE,
  plainLine,
} from '../../mail/mail-templates.ts';
import type { MailJobDeps } from '../digests/digests.service.ts';
import type { ReleaseRequestRow } from '../release/release.service.ts';
import { getSettings } from '../settings/settings.service.ts';

/** The most requests one reminder lists; the rest are in the console. */
export const REMINDER_MAX_ITEMS = 200;

export interface RemindersOptions {
  dryRun?: boolean;
  signal?: AbortSignal;
}

export interface RemindersSummary {
  dryRun: boolean;
  /** Release requests waiting for a decision. */
  pending: number;
  /** Admins with at least one request to decide. */
  admins: number;
  /** Reminders mailed (dry run: that would be mailed). */
  sent: number;
  failed: number;
  linksIncluded: boolean;
}

function render(
  requests: readonly ReleaseRequestRow[],
  publicUrl: string | null,
): { subject: string; text: string; html: string } {
  const n = requests.length;
  const subject = `${n} release request${n === 1 ? '' : 's'} waiting for you`;
  const shown = requests.slice(0, REMINDER_MAX_ITEMS);
  // the web app's release requests page (signing in first leads back there)
  const link = publicUrl ? `${publicUrl}/requests` : null;
  const intro = `These release requests are waiting for a decision (oldest first).`;
  const item = (r: ReleaseRequestRow) => ({
    subject: plainLine(r.subject || '(no subject)'),
    from: plainLine(r.sender || '<>'),
    to: plainLine(r.recipient),
    by: plainLine(r.requestedBy),
    at: r.createdAt.toISOString().replace('T', ' ').slice(0, 16),
    kind: describeContent(r.contentCode).label,
  });
  const more = n > shown.length ? `\n…and ${n - shown.length} more.\n` : '';
  const text = `${intro}\n\n${shown
    .map((r) => {
      const i = item(r);
      return `- ${i.subject}\n  from ${i.from} to ${i.to}, ${i.kind}; asked by ${i.by} at ${i.at} UTC`;
    })
    .join('\n')}\n${more}\n${link ? `Decide in the console: ${link}` : NO_PUBLIC_URL_NOTE}\n`;
  const rows = shown
    .map((r) => {
      const i = item(r);
      return `<li><strong>${escapeHtml(i.subject)}</strong><br>from ${escapeHtml(i.from)} to ${escapeHtml(i.to)}, ${escapeHtml(i.kind)}; asked by ${escapeHtml(i.by)} at ${escapeHtml(i.at)} UTC</li>`;
    })
    .join('\n');
  const html = htmlDocument(
    subject,
    `<p>${escapeHtml(intro)}</p>
<ul>
${rows}
</ul>
${more ? `<p>${escapeHtml(more.trim())}</p>` : ''}
<p>${link ? htmlLink(link, 'Decide in the console') : `<strong>${escapeHtml(NO_PUBLIC_URL_NOTE)}</strong>`}</p>`,
  );
  return { subject, text, html };
}

export async function runReminders(
  deps: MailJobDeps,
  options: RemindersOptions = {},
): Promise<RemindersSummary> {
  const { stores, mailer, publicUrl, log } = deps;
  const dryRun = options.dryRun ?? false;
  const summary: RemindersSummary = {
    dryRun,
    pending: 0,
    admins: 0,
    sent: 0,
    failed: 0,
    linksIncluded: publicUrl !== null,
  };
  const { db } = stores.console.connection;
  const r = stores.console.t.releaseRequestsTable;
  const pending = await db
    .select()
    .from(r)
    .where(eq(r.status, 'pending'))
    .orderBy(asc(r.createdAt), asc(r.id));
  summary.pending = pending.length;
  if (pending.length === 0) return summary;
  if (!publicUrl) log.warn('PUBLIC_URL is not set: reminders are sent without links');
  const settings = await getSettings(stores.console);
  const a = stores.console.t.accountsTable;
  const admins = await db
    .select({ id: a.id, email: a.email })
    .from(a)
    .where(and(inArray(a.role, ['superadmin', 'domainadmin']), eq(a.disabled, false)))
    .orderBy(asc(a.id));
  for (const admin of admins) {
    if (options.signal?.aborted) break;
    const actor = await loadAccountActor(stores.console, admin.id, { access: 'full', via: 'session' });
    if (!actor || actor.role === 'user') continue;
    const domains = new Set(actor.domains);
    const theirs =
      actor.role === 'superadmin'
        ? pending
        : pending.filter((row) => domains.has(row.recipientDomain.toLowerCase()));
    if (theirs.length === 0) continue;
    summary.admins++;
    if (dryRun) {
      summary.sent++;
      continue;
    }
    const mail = render(theirs, publicUrl);
    const result = await mailer.send({ from: settings.notificationsSender, to: admin.email, ...mail });
    if (result.sent) summary.sent++;
    else summary.failed++;
  }
  return summary;
}
