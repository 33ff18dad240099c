// The pieces the console's own mails (reminders, digests) and its small server-rendered pages (one-click
// actions) are built from. Everything that came from a quarantined message (subjects, addresses) is
// hostile: it is escaped for HTML and flattened to one line of plain text, never trusted.

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

// control characters, C1 controls and bidirectional overrides, built from code points so no raw control
// character appears in the source
const UNSAFE_CHARACTERS = new RegExp(
  `[${String.fromCharCode(0)}-${String.fromCharCode(0x1f)}${String.fromCharCode(0x7f)}-${String.fromCharCode(0x9f)}\u200e\u200f\u202a-\u202e\u2066-\u2069]`,
  'g',
);

/** One line of plain text: control characters (CR, LF, bidi overrides…) become spaces, length capped. */
export function plainLine(value: string, max = 200): string {
  const flat = value.replace(UNSAFE_CHARACTERS, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** An HTML mail or page around `body` (already escaped), with inline styles only (mail clients). */
export function htmlDocument(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)}</title>
</head>
<body style="font-family: system-ui, sans-serif; line-height: 1.4; color: #1a1a1a; max-width: 48rem; margin: 1rem auto; padding: 0 1rem;">
<h1 style="font-size: 1.3rem;">${escapeHtml(title)}</h1>
${body}
</body>
</html>
`;
}

/** A link, or the bare text when there is no usable URL (PUBLIC_URL unset). */
export function htmlLink(url: string | null, label: string): string {
  return url ? `<a href="${escapeHtml(url)}">${escapeHtml(label)}</a>` : escapeHtml(label);
}

export const NO_PUBLIC_URL_NOTE =
  'The console has no public address configured (PUBLIC_URL), so this mail carries no links; ' +
  'open the console as you usually do.';
