// The pages behind a digest's one-click links. GET /actions/<token> only shows what the link would do and
// a button: link scanners and previews fetch links, so a GET never acts. POST /actions/<token> (the
// button's form) acts once, audited, and shows the result. The token is the credential, so there is no
// cookie to forge a request with; a POST from another site (an Origin that is not ours) is refused anyway.
import type http from 'node:http';
import type { AccountActor, Actor } from '../../access/actor.ts';
import { ForbiddenError } from '../../access/forbidden-error.ts';
import { loadAccountActor } from '../../access/resolve-actor.ts';
import { recordAudit } from '../../audit/audit-log.ts';
import type { Context } from '../../graphql/context.ts';
import { InputError } from '../../input-error.ts';
import { escapeHtml, htmlDocument, plainLine } from '../../mail/mail-templates.ts';
import { findQuarantineEntries, type QuarantineEntry } from '../quarantine/quarantine.service.ts';
import { type ActionResult, deleteMessages, releaseMessages } from '../release/release.service.ts';
import { addSenderEntry } from '../sender-lists/sender-lists.service.ts';
import { getSettings } from '../settings/settings.service.ts';
import {
  checkActionToken,
  claimActionToken,
  releaseActionToken,
  type TokenAction,
  type TokenScope,
} from './action-tokens.service.ts';

export const ACTION_ROUTE = /^\/actions\/([^/]+)$/;

const QUESTIONS: Record<TokenAction, string> = {
  release: 'Release this message to its recipient?',
  request: 'Ask an administrator to release this message?',
  delete: 'Delete this message from the quarantine?',
  'allow-sender': 'Always accept mail from this sender for this address?',
  'block-sender': 'Always block mail from this sender for this address?',
};

const BUTTONS: Record<TokenAction, string> = {
  release: 'Release',
  request: 'Request release',
  delete: 'Delete',
  'allow-sender': 'Allow sender',
  'block-sender': 'Block sender',
};

const HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  // the token is in the URL: never hand it to another site
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
};

function page(res: http.ServerResponse, status: number, title: string, body: string, head = false): void {
  res.writeHead(status, HEADERS);
  res.end(head ? undefined : htmlDocument(title, body));
}

function paragraph(text: string): string {
  return `<p>${escapeHtml(text)}</p>`;
}

function describeEntry(entry: QuarantineEntry, scope: TokenScope): string {
  const rows: [string, string][] = [
    ['Subject', plainLine(entry.subject || '(no subject)')],
    ['From', plainLine(entry.fromHeader || entry.envelopeSender || '<>')],
    ['Sender', plainLine(entry.envelopeSender || '<>')],
    ['To', plainLine(scope.recipient)],
    ['Received', entry.receivedAt.toISOString()],
  ];
  return `<table>${rows
    .map(
      ([k, v]) =>
        `<tr><th style="text-align: left; padding-right: 1rem;">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`,
    )
    .join('')}</table>`;
}

interface Refusal {
  status: number;
  title: string;
  text: string;
}

const INVALID: Refusal = {
  status: 404,
  title: 'This link is not valid',
  text: 'The link is incomplete, was changed, or does not exist. Open the console to act on your quarantine.',
};

function refusalFor(check: Awaited<ReturnType<typeof checkActionToken>>): Refusal | null {
  if (check.state === 'invalid') return INVALID;
  if (check.state === 'used') {
    return {
      status: 410,
      title: 'This link was already used',
      text: `Each link works once; this one was used on ${check.row.usedAt?.toISOString() ?? 'an earlier visit'}. Open the console to see where the message stands.`,
    };
  }
  if (check.state === 'expired') {
    return {
      status: 410,
      title: 'This link has expired',
      text: 'Digest links work for 7 days. Open the console to act on this message.',
    };
  }
  return null;
}

/** The Origin of a POST, when the browser sent one, must be this console (or PUBLIC_URL's host). */
function originAllowed(req: http.IncomingMessage, context: Context): boolean {
  const origin = req.headers.origin;
  // Our pages' no-referrer policy makes browsers send `Origin: null` with the form's own POST; they
  // also send Sec-Fetch-Site, which no page can set, saying it came from this site.
  if (origin === 'null') return req.headers['sec-fetch-site'] === 'same-origin';
  if (!origin) return true;
  try {
    const host = new URL(origin).host;
    if (host === req.headers.host) return true;
    return context.config.publicUrl !== null && host === new URL(context.config.publicUrl).host;
  } catch {
    return false;
  }
}

async function accountActor(context: Context, scope: TokenScope): Promise<AccountActor | null> {
  return loadAccountActor(context.stores.console, scope.accountId, { access: 'full', via: 'session' });
}

async function visibleEntry(
  context: Context,
  actor: Actor,
  scope: TokenScope,
): Promise<QuarantineEntry | null> {
  const settings = await context.settings();
  const [entry] = await findQuarantineEntries(context.stores.amavis, { actor, settings }, [scope]);
  return entry && entry.recipient === scope.recipient ? entry : null;
}

const GONE: Refusal = {
  status: 404,
  title: 'This message is no longer here',
  text: 'It left the quarantine (it was removed, or your address changed). Nothing was done.',
};

const NO_ACCOUNT: Refusal = {
  status: 403,
  title: 'This link no longer works',
  text: 'The account it was sent to is disabled or no longer exists. Nothing was done.',
};

/** Serves /actions/<token>; the caller checked the path with ACTION_ROUTE. */
export async function serveActionRoute(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  context: Context,
): Promise<void> {
  // a form post's body carries nothing we need
  req.resume();
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  // tokens are base64url and a dot: nothing to decode; anything else is simply not a token
  const token = ACTION_ROUTE.exec(path)?.[1] ?? '';
  const head = req.method === 'HEAD';
  if (req.method !== 'GET' && !head && req.method !== 'POST') {
    res.writeHead(405, { ...HEADERS, allow: 'GET, HEAD, POST' });
    res.end(htmlDocument('Not allowed', paragraph('Open the link from your digest.')));
    return;
  }
  const check = await checkActionToken(context.stores.console, token);
  const refuse = async (refusal: Refusal, detail: Record<string, unknown> = {}) => {
    if (req.method === 'POST') {
      await recordAudit(context.stores.console, {
        actor: { kind: 'anonymous' },
        ...(check.state !== 'invalid' && check.row.accountId !== null
          ? { accountId: check.row.accountId }
          : {}),
        claimedActor: check.state === 'invalid' ? 'digest link' : `digest link of ${check.row.recipient}`,
        action: 'digest.action',
        outcome: 'denied',
        target:
          check.state === 'invalid'
            ? ''
            : `${check.row.partitionTag}:${check.row.mailId}:${check.row.rseqnum}`,
        detail: { reason: refusal.title, state: check.state, ...detail },
        ip: context.client.ip,
      });
    }
    page(res, refusal.status, refusal.title, paragraph(refusal.text), head);
  };
  const refusal = refusalFor(check);
  if (refusal || check.state !== 'valid') {
    await refuse(refusal ?? INVALID);
    return;
  }
  const { scope } = check;
  if (req.method === 'POST' && !originAllowed(req, context)) {
    await refuse(
      { status: 403, title: 'Not allowed from another site', text: 'Confirm on the page the link opens.' },
      { origin: String(req.headers.origin ?? '') },
    );
    return;
  }
  const actor = await accountActor(context, scope);
  if (!actor) {
    await refuse(NO_ACCOUNT);
    return;
  }
  const entry = await visibleEntry(context, actor, scope);
  if (!entry) {
    await refuse(GONE);
    return;
  }
  if (req.method !== 'POST') {
    page(
      res,
      200,
      QUESTIONS[scope.action],
      `${describeEntry(entry, scope)}
<form method="post" style="margin-top: 1rem;">
<button type="submit" style="font-size: 1rem; padding: 0.4rem 1rem;">${escapeHtml(BUTTONS[scope.action])}</button>
</form>
<p><small>${escapeHtml('Nothing happens until you press the button. The link works once.')}</small></p>`,
      head,
    );
    return;
  }
  // one of two concurrent POSTs wins the token; the other is told it was used
  if (!(await claimActionToken(context.stores.console, check.row.id, context.client.ip))) {
    const again = await checkActionToken(context.stores.console, token);
    await refuse(refusalFor(again) ?? INVALID);
    return;
  }
  const outcome = await act(context, actor, entry, scope);
  if (outcome.giveBack) await releaseActionToken(context.stores.console, check.row.id);
  await recordAudit(context.stores.console, {
    actor,
    action: 'digest.action',
    outcome: outcome.status < 300 ? 'success' : outcome.status >= 500 ? 'failure' : 'denied',
    target: `${scope.partitionTag}:${scope.mailId}:${scope.rseqnum} for ${scope.recipient}`,
    domain: scope.recipient.slice(scope.recipient.lastIndexOf('@') + 1).toLowerCase(),
    detail: { action: scope.action, result: outcome.title },
    ip: context.client.ip,
  });
  page(res, outcome.status, outcome.title, `${describeEntry(entry, scope)}${paragraph(outcome.text)}`);
}

interface Outcome extends Refusal {
  /** The action could not be done through no fault of the link: it may be used again. */
  giveBack: boolean;
}

function fromResult(result: ActionResult | undefined, done: string): Outcome {
  switch (result?.outcome) {
    case 'released':
      return {
        status: 200,
        title: 'Released',
        text: 'The message was delivered to its recipient.',
        giveBack: false,
      };
    case 'requested':
      return {
        status: 200,
        title: 'Release requested',
        text: 'An administrator will decide; you will get a mail with the outcome.',
        giveBack: false,
      };
    case 'deleted':
      return { status: 200, title: 'Deleted', text: done, giveBack: false };
    case 'alreadyReleased':
      return { status: 200, title: 'Already released', text: 'Nothing more to do.', giveBack: false };
    case 'alreadyRequested':
      return {
        status: 200,
        title: 'Already requested',
        text: 'An administrator will decide.',
        giveBack: false,
      };
    case 'forbidden':
      return {
        status: 403,
        title: 'Not allowed',
        text: result.message ?? 'You may not do this with this message.',
        giveBack: false,
      };
    case 'failed':
      return {
        status: 502,
        title: 'It did not work this time',
        text: `${result.message ?? 'The mail server did not confirm.'} The link still works: try again later.`,
        giveBack: true,
      };
    default:
      return { ...GONE, giveBack: false };
  }
}

async function act(
  context: Context,
  actor: AccountActor,
  entry: QuarantineEntry,
  scope: TokenScope,
): Promise<Outcome> {
  const settings = await getSettings(context.stores.console);
  const actionContext = {
    stores: context.stores,
    viewer: { actor, settings },
    mailer: context.mailer,
    client: { ip: context.client.ip, userAgent: context.client.userAgent },
  };
  const key = { partitionTag: scope.partitionTag, mailId: scope.mailId, rseqnum: scope.rseqnum };
  if (scope.action === 'release' || scope.action === 'request') {
    const [result] = await releaseMessages(actionContext, [key]);
    return fromResult(result, '');
  }
  if (scope.action === 'delete') {
    const [result] = await deleteMessages(actionContext, [key]);
    return fromResult(result, 'The message was deleted from your quarantine.');
  }
  const action = scope.action === 'allow-sender' ? 'allow' : 'block';
  try {
    await addSenderEntry(
      context.stores,
      actor,
      { owner: scope.recipient, sender: entry.envelopeSender, action },
      actionContext.client,
    );
  } catch (error) {
    // refused (users may not keep sender lists) or a sender the lists cannot hold; audited there
    if (error instanceof ForbiddenError || error instanceof InputError) {
      const status = error instanceof ForbiddenError ? 403 : 400;
      return { status, title: 'Not allowed', text: error.message, giveBack: false };
    }
    throw error;
  }
  return {
    status: 200,
    title: action === 'allow' ? 'Sender allowed' : 'Sender blocked',
    text: `Mail from ${plainLine(entry.envelopeSender)} to ${plainLine(scope.recipient)} will be ${action === 'allow' ? 'accepted' : 'blocked'} from now on.`,
    giveBack: false,
  };
}
