// Plain HTTP routes next to GraphQL for what GraphQL should not carry: the raw .eml, attachments and
// the sanitised HTML for the sandboxed viewer frame. Same credentials, scoping and audit as GraphQL.
import type http from 'node:http';
import { decodeGlobalID } from '@pothos/plugin-relay';
import type { Context } from '../../graphql/context.ts';
import { htmlContentSecurityPolicy } from '../../mail/sanitize-html.ts';
import { type EntryKey, parseEntryKey } from '../quarantine/quarantine.service.ts';
import { messageAttachment, messageHtml, rawMessage } from './message.service.ts';

export const MESSAGE_ROUTE = /^\/messages\/([^/]+)\/(raw|html|attachments\/([^/]+))$/;

export function messageUrls(globalId: string) {
  const base = `/messages/${encodeURIComponent(globalId)}`;
  return {
    raw: `${base}/raw`,
    html: `${base}/html`,
    attachment: (partId: string) => `${base}/attachments/${encodeURIComponent(partId)}`,
  };
}

/** The entry a route's global ID names, or null for anything malformed. */
export function entryKeyFromGlobalId(globalId: string): EntryKey | null {
  try {
    const { typename, id } = decodeGlobalID(globalId);
    return typename === 'QuarantinedMessage' ? parseEntryKey(id) : null;
  } catch {
    return null;
  }
}

/** RFC 6266 filename: ASCII fallback plus the UTF-8 form. */
function contentDisposition(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
}

const COMMON_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
};

function send(
  res: http.ServerResponse,
  status: number,
  headers: Record<string, string>,
  body: Buffer | string,
) {
  res.writeHead(status, { ...COMMON_HEADERS, ...headers });
  res.end(body);
}

function notFound(res: http.ServerResponse, context: Context) {
  const status = context.actor.kind === 'anonymous' ? 401 : 404;
  send(
    res,
    status,
    { 'content-type': 'text/plain; charset=utf-8' },
    status === 401 ? 'Log in first.\n' : 'Not found.\n',
  );
}

/** Serves a /messages/… route; the caller checked the path with MESSAGE_ROUTE. */
export async function serveMessageRoute(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  context: Context,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const match = MESSAGE_ROUTE.exec(url.pathname);
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    send(res, 405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }, 'Use GET.\n');
    return;
  }
  const key = match ? entryKeyFromGlobalId(decodeURIComponent(match[1] ?? '')) : null;
  if (!match || !key) {
    notFound(res, context);
    return;
  }
  const viewer = { actor: context.actor, settings: await context.settings() };
  if (match[2] === 'raw') {
    const found = await rawMessage(context.stores, viewer, key, context.client);
    if (!found) return notFound(res, context);
    send(
      res,
      200,
      {
        'content-type': 'message/rfc822',
        'content-disposition': contentDisposition(`${found.entry.mailId}.eml`),
      },
      found.raw,
    );
    return;
  }
  if (match[2] === 'html') {
    const images = url.searchParams.get('images') === '1';
    const found = await messageHtml(context.stores, viewer, key, images);
    if (!found) return notFound(res, context);
    send(
      res,
      200,
      {
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': htmlContentSecurityPolicy({ allowRemoteImages: images }),
        'x-frame-options': 'SAMEORIGIN',
      },
      found.html,
    );
    return;
  }
  const part = await messageAttachment(
    context.stores,
    viewer,
    key,
    decodeURIComponent(match[3] ?? ''),
    context.client,
  );
  if (!part) return notFound(res, context);
  // Downloads are never rendered by the browser: whatever the part claims to be, it is a file.
  send(
    res,
    200,
    { 'content-type': 'application/octet-stream', 'content-disposition': contentDisposition(part.filename) },
    part.content,
  );
}
