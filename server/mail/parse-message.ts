// Reading a quarantined message for the viewer: every header decoded, amavisd's verdict, the MIME
// tree, the text and HTML bodies and the attachments (with SHA-256), from raw bytes that may be
// hostile or broken. The MIME structure comes from mailsplit (the splitter under mailparser), which
// streams the message: attachments are decoded chunk by chunk into a hash and a byte count and never
// held, the bodies are kept up to a limit. Work is bounded (parts, nesting depth, header count, time)
// and nothing throws: whatever goes wrong becomes a human-readable entry in `problems`.
import { createHash, type Hash } from 'node:crypto';
import { PassThrough, Readable, type Transform } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { Headers, Splitter, type SplitterChunk } from '@zone-eu/mailsplit';
import libmime from 'libmime';
import { safeFilename } from './attachment-filename.ts';
import { decodeText } from './charsets.ts';
import {
  decodeAddresses,
  decodeField,
  displayName,
  type MailAddress,
  type RawField,
  splitField,
} from './header-fields.ts';
import {
  type AmavisInfo,
  amavisInfo,
  leadingAmavisBlock,
  type SpamVerdict,
  spamVerdict,
} from './spam-verdict.ts';

export type { MailAddress } from './header-fields.ts';
export type { AmavisInfo, SpamTest, SpamVerdict } from './spam-verdict.ts';

export interface ParseOptions {
  /** MIME parts recorded at most; the rest of the message is not parsed. Default 500. */
  maxNodes?: number;
  /** Nesting depth recorded at most (the top level is 0). Default 20. */
  maxDepth?: number;
  /** Bytes of decoded text kept for the text body, and again for the HTML body. Default 2 MiB. */
  maxBodyBytes?: number;
  /** Header fields listed at most. Default 1000. */
  maxHeaders?: number;
  /** Parsing stops after this long and shows what it has. Default 15 s. */
  timeoutMs?: number;
  /** SpamAssassin rule descriptions for rules X-Spam-Report does not describe. */
  ruleDescriptions?: ReadonlyMap<string, string>;
}

export interface HeaderField {
  /** The field name as written. */
  name: string;
  /** Unfolded and decoded (raw 8-bit bytes, RFC 2047). */
  value: string;
}

export interface MimePart {
  /** "1" for the message itself, "1.2" for its second part, "1.2.1" for the first part of that. */
  partId: string;
  contentType: string;
  charset: string | null;
  disposition: string | null;
  /** The decoded name as the message gives it (unsafe: see Attachment.filename). */
  filename: string | null;
  contentId: string | null;
  transferEncoding: string | null;
  /** Decoded bytes for a leaf; for a multipart, the sum of its parts; for an embedded message, its bytes. */
  size: number;
  children: MimePart[];
}

export interface Attachment {
  partId: string;
  /** Safe to show and to use as a download name. */
  filename: string;
  originalFilename: string | null;
  contentType: string;
  disposition: string | null;
  /** Without angle brackets; HTML bodies refer to it as cid:<contentId>. */
  contentId: string | null;
  size: number;
  sha256: string;
}

export interface ParsedMessage {
  /** Bytes of the raw message. */
  size: number;
  headers: HeaderField[];
  subject: string | null;
  from: MailAddress[];
  to: MailAddress[];
  cc: MailAddress[];
  replyTo: MailAddress[];
  date: Date | null;
  messageId: string | null;
  amavis: AmavisInfo;
  spam: SpamVerdict | null;
  mime: MimePart | null;
  /** The text/plain body parts, decoded, joined. */
  text: string | null;
  /** The text/html body parts as decoded text: NOT sanitised (see sanitize-html.ts). */
  html: string | null;
  attachments: Attachment[];
  problems: string[];
}

export interface AttachmentContent {
  filename: string;
  contentType: string;
  content: Buffer;
}

const DEFAULTS = {
  maxNodes: 500,
  maxDepth: 20,
  maxBodyBytes: 2 * 1024 * 1024,
  maxHeaders: 1000,
  timeoutMs: 15_000,
};
const MAX_HEADER_VALUE = 64 * 1024;
const MAX_HEAD_SIZE = 1024 * 1024;
const WRITE_SIZE = 64 * 1024;
const KNOWN_ENCODINGS = new Set(['', '7bit', '8bit', 'binary', 'base64', 'quoted-printable']);
const CONTENT_TYPE = /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/;

type Resolved = Required<Omit<ParseOptions, 'ruleDescriptions'>>;
type SplitNode = Extract<SplitterChunk, { type: 'node' }>;
type Role = 'text' | 'html' | 'inner-text' | 'attachment' | 'multipart' | 'message';

interface Entry {
  node: SplitNode;
  part: MimePart;
  depth: number;
  role: Role;
  /** Inside an embedded message/rfc822 (whose text parts are not this message's body). */
  embedded: boolean;
  decoder: Transform | null;
  hash: Hash | null;
  /** Bytes kept: body text, or everything for the part attachmentContent asked for. */
  kept: Buffer[] | null;
  keptBytes: number;
  truncated: boolean;
  boundary: string | null;
  closed: boolean;
  /** Parts below it were not recorded (too deep). */
  hiddenChildren: boolean;
  attachment: Attachment | null;
}

class Stop extends Error {}

function megabytes(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(bytes < 10 * 1024 * 1024 ? 1 : 0)} MB`;
}

function printable(value: string, max = 70): string {
  const clean = value.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > max ? `${clean.slice(0, max)}...` : clean;
}

function toBuffer(raw: Uint8Array): Buffer {
  return Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
}

function* slices(raw: Buffer): Generator<Buffer> {
  for (let at = 0; at < raw.length; at += WRITE_SIZE) yield raw.subarray(at, at + WRITE_SIZE);
}

/** One pass over a message with mailsplit, building the tree; see parseMessage and attachmentContent. */
class Walk {
  readonly problems = new Set<string>();
  readonly entries = new Map<SplitNode, Entry | null>();
  /** Nesting depth of every node the splitter reported, recorded or not. */
  readonly depths = new Map<SplitNode, number>();
  readonly attachments: Attachment[] = [];
  root: Entry | null = null;
  rootHeaders: Headers | null = null;
  current: Entry | null = null;
  recorded = 0;
  messageContainers = 0;
  stopped = false;
  budget: Record<'text' | 'html', number>;
  readonly deadline: number;

  readonly options: Resolved;
  readonly target: string | null;

  constructor(options: Resolved, target: string | null = null) {
    this.options = options;
    this.target = target;
    this.budget = { text: options.maxBodyBytes, html: options.maxBodyBytes };
    this.deadline = Date.now() + options.timeoutMs;
  }

  targetEntry: Entry | null = null;

  async run(raw: Buffer): Promise<void> {
    const splitter = new Splitter({
      maxChildNodes: this.options.maxNodes * 2 + 10,
      maxHeadSize: MAX_HEAD_SIZE,
      defaultInlineEmbedded: true,
    });
    try {
      await pipeline(Readable.from(slices(raw), { objectMode: false }), splitter, async (items) => {
        for await (const item of items as AsyncIterable<SplitterChunk>) await this.handle(item);
        await this.finishLeaf();
      });
    } catch (error) {
      if (!(error instanceof Stop)) {
        this.stopped = true;
        this.problems.add(this.describeFailure(error));
      }
    }
    for (const entry of this.entries.values()) {
      if (entry?.decoder && !entry.decoder.destroyed) entry.decoder.destroy();
    }
  }

  describeFailure(error: unknown): string {
    const message = error instanceof Error ? error.message : String(error);
    if (/max header size/i.test(message)) {
      return `a MIME header section is larger than ${megabytes(MAX_HEAD_SIZE)}; the rest of the message was not parsed`;
    }
    if (/max allowed child nodes/i.test(message)) {
      return `the message has more than ${this.options.maxNodes} MIME parts; the rest was not parsed`;
    }
    return `the message could not be parsed to the end (${printable(message, 200)})`;
  }

  stop(problem: string): never {
    this.stopped = true;
    this.problems.add(problem);
    throw new Stop(problem);
  }

  async handle(item: SplitterChunk): Promise<void> {
    if (Date.now() > this.deadline) {
      this.stop(
        `parsing stopped after ${this.options.timeoutMs / 1000} s; the rest of the message is not shown`,
      );
    }
    if (item.type === 'node') {
      await this.finishLeaf();
      if (this.messageContainers > 0) this.capture(item, item.getHeaders());
      this.open(item);
      return;
    }
    if (this.messageContainers > 0) this.capture(item.node, item.value);
    if (item.type === 'body') {
      const entry = this.entries.get(item.node);
      if (entry && entry === this.current && entry.decoder) entry.decoder.write(item.value);
    } else {
      this.noteClosings(item.node, item.value);
    }
  }

  /**
   * Marks the multiparts whose closing delimiter is in `data`. The splitter groups consecutive
   * structure lines under the first line's node, so a closing delimiter of any multipart above it
   * may be in the same chunk.
   */
  noteClosings(node: SplitNode, data: Buffer): void {
    for (let n: SplitNode | false = node; n; n = n.parentNode) {
      const entry = this.entries.get(n);
      if (entry?.role !== 'multipart' || entry.boundary === null || entry.closed) continue;
      if (data.includes(`--${entry.boundary}--`, 0, 'latin1')) entry.closed = true;
    }
  }

  /** Adds bytes to the embedded messages (message/rfc822 parts) above `node`. */
  capture(node: SplitNode, bytes: Buffer): void {
    for (let n: SplitNode | false = node.parentNode; n; n = n.parentNode) {
      const entry = this.entries.get(n);
      if (entry?.role !== 'message') continue;
      entry.part.size += bytes.length;
      entry.hash?.update(bytes);
      if (entry.kept) this.keep(entry, bytes);
    }
  }

  keep(entry: Entry, bytes: Buffer): void {
    if (!entry.kept) return;
    if (entry !== this.targetEntry && (entry.role === 'text' || entry.role === 'html')) {
      const room = this.budget[entry.role];
      if (bytes.length > room) entry.truncated = true;
      const take = Math.min(room, bytes.length);
      if (take > 0) {
        entry.kept.push(take === bytes.length ? bytes : bytes.subarray(0, take));
        entry.keptBytes += take;
        this.budget[entry.role] -= take;
      }
      return;
    }
    // the part attachmentContent asked for (views of the caller's buffer, joined once at the end)
    entry.kept.push(bytes);
    entry.keptBytes += bytes.length;
  }

  open(node: SplitNode): void {
    const parentNode = node.parentNode || null;
    const depth = parentNode ? (this.depths.get(parentNode) ?? 0) + 1 : 0;
    this.depths.set(node, depth);
    if (depth > this.options.maxDepth * 3) {
      // The splitter compares every "--" line with the boundary of every open multipart: past a
      // point, deeper nesting only costs time and shows nothing.
      this.stop(
        `MIME nesting deeper than ${this.options.maxDepth * 3} levels; the rest of the message was not parsed`,
      );
    }
    const parent = parentNode ? this.entries.get(parentNode) : undefined;
    if (parentNode && !parent) {
      this.entries.set(node, null);
      return;
    }
    if (depth > this.options.maxDepth) {
      this.problems.add(`MIME nesting deeper than ${this.options.maxDepth} levels was not parsed`);
      if (parent) parent.hiddenChildren = true;
      this.entries.set(node, null);
      return;
    }
    if (this.recorded >= this.options.maxNodes) {
      this.stop(`the message has more than ${this.options.maxNodes} MIME parts; the rest was not parsed`);
    }
    this.recorded++;
    const partId = parent ? `${parent.part.partId}.${parent.part.children.length + 1}` : '1';
    const headers = node.headers || null;
    let contentType = (node.contentType || 'text/plain').toLowerCase();
    if (!CONTENT_TYPE.test(contentType)) {
      this.problems.add(
        `part ${partId} has an invalid Content-Type "${printable(contentType)}", read as text/plain`,
      );
      contentType = 'text/plain';
    }
    const charset = node.charset ? String(node.charset) : null;
    const encoding = node.encoding ? String(node.encoding).toLowerCase() : '';
    const contentId = headers ? headers.getFirst('content-id').replace(/^<|>$/g, '').trim() || null : null;
    const part: MimePart = {
      partId,
      contentType,
      charset,
      disposition: node.disposition ? String(node.disposition) : null,
      filename: node.filename ? String(node.filename) : null,
      contentId,
      transferEncoding: encoding || null,
      size: 0,
      children: [],
    };
    const embedded = parent ? parent.embedded || parent.role === 'message' : false;
    let role: Role;
    if (node.multipart && contentType.startsWith('multipart/')) role = 'multipart';
    else if (node.messageNode === true) role = 'message';
    else if (
      (contentType === 'text/plain' || contentType === 'text/html') &&
      part.disposition !== 'attachment' &&
      part.filename === null
    ) {
      role = embedded ? 'inner-text' : contentType === 'text/plain' ? 'text' : 'html';
    } else role = 'attachment';

    const entry: Entry = {
      node,
      part,
      depth,
      role,
      embedded,
      decoder: null,
      hash: null,
      kept: null,
      keptBytes: 0,
      truncated: false,
      boundary: null,
      closed: false,
      hiddenChildren: false,
      attachment: null,
    };
    if (role === 'multipart') {
      entry.boundary = node._boundary ? node._boundary.toString('latin1') : null;
      if (entry.boundary === null) {
        this.problems.add(
          `part ${partId} is ${contentType} without a usable boundary; its parts could not be separated`,
        );
      }
    } else {
      if (role === 'attachment' || role === 'message') {
        entry.hash = createHash('sha256');
        entry.attachment = {
          partId,
          filename: safeFilename(part.filename, partId, contentType),
          originalFilename: part.filename,
          contentType,
          disposition: part.disposition,
          contentId,
          size: 0,
          sha256: '',
        };
        this.attachments.push(entry.attachment);
      }
      if (role === 'text' || role === 'html') entry.kept = [];
      if (this.target === partId) {
        entry.kept = [];
        this.targetEntry = entry;
      }
      if (role === 'message') {
        this.messageContainers++;
      } else {
        if (!KNOWN_ENCODINGS.has(encoding)) {
          this.problems.add(
            `part ${partId} has an unknown Content-Transfer-Encoding "${printable(encoding)}"; shown undecoded`,
          );
        }
        let decoder: Transform;
        try {
          decoder = KNOWN_ENCODINGS.has(encoding) ? node.getDecoder() : new PassThrough();
        } catch {
          decoder = new PassThrough();
        }
        decoder.on('data', (chunk: Buffer) => {
          entry.part.size += chunk.length;
          entry.hash?.update(chunk);
          if (entry.kept) this.keep(entry, chunk);
        });
        decoder.on('error', () => {
          this.problems.add(`part ${partId} could not be decoded (${encoding || '7bit'})`);
        });
        entry.decoder = decoder;
        this.current = entry;
      }
    }
    if (parent) parent.part.children.push(part);
    else {
      this.root = entry;
      this.rootHeaders = headers;
    }
    this.entries.set(node, entry);
    this.checkTargetDone(node);
  }

  /** attachmentContent stops reading once the part it wants is complete. */
  checkTargetDone(opened: SplitNode): void {
    const target = this.targetEntry;
    if (target?.role !== 'message' || target.node === opened) return;
    for (let n: SplitNode | false = opened.parentNode; n; n = n.parentNode) if (n === target.node) return;
    throw new Stop('done');
  }

  async finishLeaf(): Promise<void> {
    const entry = this.current;
    if (!entry?.decoder) return;
    this.current = null;
    const decoder = entry.decoder;
    decoder.end();
    try {
      await finished(decoder);
    } catch {
      this.problems.add(`part ${entry.part.partId} could not be decoded to the end`);
    }
    if (this.targetEntry === entry) throw new Stop('done');
  }

  /** After the walk: sizes of multiparts, hashes, and structural problems. */
  complete(): void {
    const byPart = new Map<MimePart, Entry>();
    for (const entry of this.entries.values()) if (entry) byPart.set(entry.part, entry);
    const visit = (part: MimePart): number => {
      const entry = byPart.get(part);
      let total = 0;
      for (const child of part.children) total += visit(child);
      if (entry?.role !== 'multipart') return part.size;
      part.size = total;
      if (!this.stopped && entry.boundary !== null) {
        const boundary = printable(entry.boundary);
        if (part.children.length === 0 && !entry.hiddenChildren) {
          this.problems.add(
            `the multipart boundary "${boundary}" of part ${part.partId} never appears; its parts could not be separated`,
          );
        } else if (!entry.closed) {
          unclosed.push(`the multipart boundary "${boundary}" of part ${part.partId}`);
        }
      }
      return total;
    };
    const unclosed: string[] = [];
    if (this.root) visit(this.root.part);
    // innermost first; when many are open (a cut message, a nesting bomb) one line says it
    if (unclosed.length <= 3) {
      for (const what of unclosed) this.problems.add(`${what} never closes; the message may be cut short`);
    } else {
      this.problems.add(
        `${unclosed.length} multipart boundaries never close, the outermost being ${unclosed.at(-1)}; the message may be cut short`,
      );
    }
    for (const entry of this.entries.values()) {
      if (entry?.attachment && entry.hash) {
        entry.attachment.size = entry.part.size;
        entry.attachment.sha256 = entry.hash.digest('hex');
      }
    }
  }
}

function resolveOptions(options: ParseOptions | undefined): Resolved {
  const pick = (value: number | undefined, fallback: number) =>
    value !== undefined && Number.isFinite(value) && value >= 0 ? Math.floor(value) : fallback;
  return {
    maxNodes: Math.max(1, pick(options?.maxNodes, DEFAULTS.maxNodes)),
    maxDepth: pick(options?.maxDepth, DEFAULTS.maxDepth),
    maxBodyBytes: pick(options?.maxBodyBytes, DEFAULTS.maxBodyBytes),
    maxHeaders: pick(options?.maxHeaders, DEFAULTS.maxHeaders),
    timeoutMs: pick(options?.timeoutMs, DEFAULTS.timeoutMs),
  };
}

/** The top header section read without the splitter, for when it failed before getting there. */
function fallbackHeaderLines(raw: Buffer): string[] {
  const limit = raw.subarray(0, Math.min(raw.length, MAX_HEAD_SIZE));
  const lf = limit.indexOf('\n\n');
  const crlf = limit.indexOf('\r\n\r\n');
  const ends = [lf, crlf].filter((i) => i >= 0);
  const end = ends.length > 0 ? Math.min(...ends) : limit.length;
  return new Headers(limit.subarray(0, end)).getList().map((h) => h.line);
}

function headerFields(
  lines: string[],
  maxHeaders: number,
  problems: Set<string>,
): {
  raw: RawField[];
  decoded: HeaderField[];
} {
  const raw = lines.filter((line) => line.trim() !== '').map(splitField);
  if (raw.length > maxHeaders) {
    problems.add(`the message has ${raw.length} header fields; only the first ${maxHeaders} are listed`);
  }
  const decoded: HeaderField[] = [];
  for (const field of raw.slice(0, maxHeaders)) {
    if (field.name === '') problems.add('a header line has no field name');
    let value = decodeField(field, problems);
    if (value.length > MAX_HEADER_VALUE) {
      problems.add(`the ${displayName(field.name)} header is longer than 64 KB and was cut`);
      value = `${value.slice(0, MAX_HEADER_VALUE)}...`;
    }
    decoded.push({ name: field.name, value });
  }
  return { raw, decoded };
}

function sniffHtmlCharset(bytes: Buffer): string | null {
  const head = bytes.subarray(0, 2048).toString('latin1');
  return /<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_:.+-]{1,40})/i.exec(head)?.[1] ?? null;
}

function bodyText(walk: Walk, role: 'text' | 'html', maxBodyBytes: number): string | null {
  const parts: string[] = [];
  let truncated = false;
  let found = false;
  for (const entry of walk.entries.values()) {
    if (!entry || entry.role !== role || !entry.kept) continue;
    found = true;
    truncated ||= entry.truncated;
    const bytes = Buffer.concat(entry.kept, entry.keptBytes);
    entry.kept = null;
    const charset = entry.part.charset ?? (role === 'html' ? sniffHtmlCharset(bytes) : null);
    const decoded = decodeText(bytes, charset, `part ${entry.part.partId}`, entry.truncated);
    if (decoded.problem) walk.problems.add(decoded.problem);
    let text = decoded.text;
    if (role === 'text' && entry.node.flowed) {
      try {
        text = libmime.decodeFlowed(text, entry.node.delSp);
      } catch {
        // shown as it is
      }
    }
    parts.push(role === 'text' ? text.replace(/\r\n?/g, '\n') : text);
  }
  if (truncated) {
    walk.problems.add(
      `the ${role === 'text' ? 'text' : 'HTML'} body is larger than ${megabytes(maxBodyBytes)}; only the start is shown`,
    );
  }
  return found ? parts.join('\n') : null;
}

function emptyAmavis(): AmavisInfo {
  return {
    envelopeFrom: null,
    envelopeTo: [],
    envelopeToBlocked: [],
    quarantineId: null,
    alerts: [],
    spamFlag: null,
    spamScore: null,
    spamLevel: null,
  };
}

function describeError(error: unknown): string {
  return printable(error instanceof Error ? error.message : String(error), 200);
}

/** Parses raw message bytes for display. Never throws. */
export async function parseMessage(raw: Buffer, options?: ParseOptions): Promise<ParsedMessage> {
  const problems = new Set<string>();
  const input = toBuffer(raw);
  const result: ParsedMessage = {
    size: input.length,
    headers: [],
    subject: null,
    from: [],
    to: [],
    cc: [],
    replyTo: [],
    date: null,
    messageId: null,
    amavis: emptyAmavis(),
    spam: null,
    mime: null,
    text: null,
    html: null,
    attachments: [],
    problems: [],
  };
  const resolved = resolveOptions(options);
  let walk: Walk | null = null;
  try {
    if (input.length === 0) problems.add('the message is empty');
    walk = new Walk(resolved);
    await walk.run(input);
    walk.complete();
  } catch (error) {
    problems.add(`the message structure could not be read (${describeError(error)})`);
  }
  try {
    const lines = walk?.rootHeaders
      ? walk.rootHeaders.getList().map((h) => h.line)
      : fallbackHeaderLines(input);
    const { raw: fields, decoded } = headerFields(lines, resolved.maxHeaders, problems);
    result.headers = decoded;
    const named = (name: string) => fields.filter((f) => f.name.toLowerCase() === name);
    const firstValue = (name: string) => {
      const field = named(name)[0];
      return field ? decodeField(field, problems) : null;
    };
    result.subject = firstValue('subject');
    result.messageId = firstValue('message-id');
    const date = firstValue('date');
    if (date !== null) {
      const time = Date.parse(date.replace(/\s*\([^)]*\)\s*$/, ''));
      result.date = Number.isFinite(time) ? new Date(time) : null;
    }
    const from = named('from');
    result.from = from[0] ? decodeAddresses(from[0], problems) : [];
    result.to = named('to').flatMap((f) => decodeAddresses(f, problems));
    result.cc = named('cc').flatMap((f) => decodeAddresses(f, problems));
    result.replyTo = named('reply-to').flatMap((f) => decodeAddresses(f, problems));
    const block = leadingAmavisBlock(fields);
    result.amavis = amavisInfo(block, problems);
    result.spam = spamVerdict(block, result.amavis, problems, options?.ruleDescriptions);
  } catch (error) {
    problems.add(`the header section could not be read (${describeError(error)})`);
  }
  try {
    if (walk) {
      result.mime = walk.root?.part ?? null;
      result.attachments = walk.attachments;
      result.text = bodyText(walk, 'text', resolved.maxBodyBytes);
      result.html = bodyText(walk, 'html', resolved.maxBodyBytes);
      for (const problem of walk.problems) problems.add(problem);
    }
  } catch (error) {
    problems.add(`the message body could not be read (${describeError(error)})`);
  }
  result.problems = [...problems];
  return result;
}

/**
 * The decoded content of one part (a leaf, or an embedded message as .eml bytes) for download, by
 * the partId parseMessage reported. Null when there is no such part or it is a multipart.
 */
export async function attachmentContent(
  raw: Buffer,
  partId: string,
  options?: ParseOptions,
): Promise<AttachmentContent | null> {
  try {
    const walk = new Walk(resolveOptions(options), partId);
    await walk.run(toBuffer(raw));
    const entry = walk.targetEntry;
    if (!entry?.kept) return null;
    return {
      filename: safeFilename(entry.part.filename, entry.part.partId, entry.part.contentType),
      contentType: entry.part.contentType,
      content: Buffer.concat(entry.kept, entry.keptBytes),
    };
  } catch {
    return null;
  }
}
