// What amavisd wrote in front of a quarantined message (X-Envelope-*, X-Quarantine-ID,
// X-Amavis-Alert, X-Spam-*) and SpamAssassin's verdict broken down by rule.
//
// Only the leading block of such fields counts: amavisd prepends them, so X-Spam-* fields further down
// were written by someone else (possibly the sender) and must not pass for amavisd's verdict.
import { decodeRawHeaderText } from './charsets.ts';
import { type RawField, unfoldedText } from './header-fields.ts';

export interface AmavisInfo {
  /** X-Envelope-From without the angle brackets; '' for the null sender <>. */
  envelopeFrom: string | null;
  envelopeTo: string[];
  /** X-Envelope-To-Blocked: the recipients the message was not delivered to. */
  envelopeToBlocked: string[];
  quarantineId: string | null;
  /** Every X-Amavis-Alert, line breaks collapsed. */
  alerts: string[];
  spamFlag: boolean | null;
  spamScore: number | null;
  /** The number of level characters in X-Spam-Level (amavisd omits it for scores below 1). */
  spamLevel: number | null;
}

export interface SpamTest {
  name: string;
  score: number | null;
  description: string | null;
}

export interface SpamVerdict {
  /** "Yes"/"No" at the start of X-Spam-Status, else X-Spam-Flag. */
  isSpam: boolean | null;
  score: number | null;
  /** tag2 (amavisd) or required (SpamAssassin's own header). */
  required: number | null;
  /** amavisd's tag and kill levels, when X-Spam-Status carries them. */
  tagLevel: number | null;
  killLevel: number | null;
  autolearn: string | null;
  tests: SpamTest[];
}

const AMAVIS_FIELD = /^x-(?:envelope-|quarantine-id$|amavis-|spam-|virus-|amavisd-)/i;

/** The fields amavisd put at the top of the message, in order. */
export function leadingAmavisBlock(fields: RawField[]): RawField[] {
  const block: RawField[] = [];
  for (const field of fields) {
    if (!AMAVIS_FIELD.test(field.name)) break;
    block.push(field);
  }
  return block;
}

function number(text: string | undefined): number | null {
  if (text === undefined) return null;
  const value = Number.parseFloat(text);
  return Number.isFinite(value) ? value : null;
}

function addresses(text: string): string[] {
  const bracketed = [...text.matchAll(/<([^<>]*)>/g)].map((m) => (m[1] ?? '').trim());
  if (bracketed.length > 0) return bracketed;
  return text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function first(block: RawField[], name: string, problems: Set<string>): string | null {
  const field = block.find((f) => f.name.toLowerCase() === name);
  return field ? unfoldedText(field, problems) : null;
}

export function amavisInfo(block: RawField[], problems: Set<string>): AmavisInfo {
  const all = (name: string) =>
    block.filter((f) => f.name.toLowerCase() === name).map((f) => unfoldedText(f, problems));
  const envelopeFrom = first(block, 'x-envelope-from', problems);
  const quarantineId = first(block, 'x-quarantine-id', problems);
  const flag = first(block, 'x-spam-flag', problems);
  const level = first(block, 'x-spam-level', problems);
  return {
    envelopeFrom: envelopeFrom === null ? null : (addresses(envelopeFrom)[0] ?? ''),
    envelopeTo: all('x-envelope-to').flatMap(addresses),
    envelopeToBlocked: all('x-envelope-to-blocked').flatMap(addresses),
    quarantineId: quarantineId === null ? null : quarantineId.replace(/^<|>$/g, '').trim(),
    alerts: all('x-amavis-alert').map((a) => a.replace(/\s+/g, ' ').trim()),
    spamFlag: flag === null ? null : /^y/i.test(flag) ? true : /^n/i.test(flag) ? false : null,
    spamScore: number(first(block, 'x-spam-score', problems) ?? undefined),
    spamLevel: level === null ? null : level.trim().length,
  };
}

const TEST = /^([A-Za-z0-9_.]+)(?:=(-?\d+(?:\.\d+)?))?$/;

/** tests=[A=1.2, B=0.5] (amavisd) or tests=A,B (SpamAssassin), from an unfolded X-Spam-Status. */
export function parseStatusTests(status: string): SpamTest[] {
  const bracketed = /\btests=\[([^\]]*)\]?/i.exec(status);
  const list =
    bracketed?.[1] ??
    /\btests=((?:[A-Za-z0-9_.]+(?:=-?[\d.]+)?)(?:\s*,\s*[A-Za-z0-9_.]+(?:=-?[\d.]+)?)*)/i.exec(status)?.[1];
  if (list === undefined) return [];
  const tests: SpamTest[] = [];
  for (const item of list.split(',')) {
    const m = TEST.exec(item.trim());
    if (!m || m[1] === undefined || m[1].toLowerCase() === 'none') continue;
    tests.push({ name: m[1], score: number(m[2]), description: null });
  }
  return tests;
}

/**
 * The rule table of an X-Spam-Report (or of SpamAssassin's report template): lines like
 * `*  1.0 GTUBE BODY: Generic Test for Unsolicited Bulk Email`, continuation lines appended.
 */
export function parseSpamReport(raw: string): SpamTest[] {
  const tests: SpamTest[] = [];
  let current: SpamTest | null = null;
  for (const rawLine of raw.split(/\r?\n/)) {
    const line = rawLine.replace(/^[ \t]*\*?[ \t]*/, '').trimEnd();
    if (line === '') continue;
    const m = /^(-?\d+(?:\.\d+)?)\s+([A-Za-z0-9_.]+)(?:\s+(.*))?$/.exec(line);
    if (m && m[2] !== undefined && /[A-Z_]/.test(m[2])) {
      current = { name: m[2], score: number(m[1]), description: m[3]?.trim() || null };
      tests.push(current);
    } else if (current && !/^-{2,}/.test(line) && !/^pts\s+rule/i.test(line)) {
      current.description = current.description ? `${current.description} ${line.trim()}` : line.trim();
    }
  }
  return tests;
}

export function spamVerdict(
  block: RawField[],
  amavis: AmavisInfo,
  problems: Set<string>,
  ruleDescriptions?: ReadonlyMap<string, string>,
): SpamVerdict | null {
  const statusField = block.find((f) => f.name.toLowerCase() === 'x-spam-status');
  const reportField = block.find((f) => f.name.toLowerCase() === 'x-spam-report');
  if (!statusField && !reportField && amavis.spamScore === null && amavis.spamFlag === null) return null;
  const status = statusField ? unfoldedText(statusField, problems) : '';
  const report = reportField ? parseSpamReport(decodeRawHeaderText(reportField.raw).text) : [];
  const fromReport = new Map(report.map((t) => [t.name, t]));
  let tests = parseStatusTests(status);
  if (tests.length === 0) tests = report.map((t) => ({ ...t }));
  for (const test of tests) {
    const described = fromReport.get(test.name);
    if (test.score === null && described) test.score = described.score;
    test.description = described?.description ?? ruleDescriptions?.get(test.name) ?? test.description;
  }
  const yesNo = /^\s*(yes|no)\b/i.exec(status)?.[1];
  return {
    isSpam: yesNo ? yesNo.toLowerCase() === 'yes' : amavis.spamFlag,
    score: number(/\b(?:score|hits)=(-?\d+(?:\.\d+)?)/i.exec(status)?.[1]) ?? amavis.spamScore,
    required: number(/\b(?:tag2|required)=(-?\d+(?:\.\d+)?)/i.exec(status)?.[1]),
    tagLevel: number(/\btag=(-?\d+(?:\.\d+)?)/i.exec(status)?.[1]),
    killLevel: number(/\bkill=(-?\d+(?:\.\d+)?)/i.exec(status)?.[1]),
    autolearn: /\bautolearn=([A-Za-z_-]+)/i.exec(status)?.[1] ?? null,
    tests,
  };
}

/** Fills the descriptions still missing from a rule map (see spamassassin-rules.ts). */
export function describeSpamTests(
  verdict: SpamVerdict | null,
  ruleDescriptions: ReadonlyMap<string, string>,
): SpamVerdict | null {
  if (!verdict) return verdict;
  return {
    ...verdict,
    tests: verdict.tests.map((t) => ({
      ...t,
      description: t.description ?? ruleDescriptions.get(t.name) ?? null,
    })),
  };
}
