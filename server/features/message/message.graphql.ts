import { builder } from '../../graphql/builder.ts';
import type { MailAddress, MimePart, SpamTest } from '../../mail/parse-message.ts';
import { QuarantinedMessageRef } from '../quarantine/quarantine.graphql.ts';
import { entryKeyFromGlobalId, messageUrls } from './message.routes.ts';
import { type OpenedMessage, openMessage } from './message.service.ts';

interface FlatPart {
  part: MimePart;
  parentPartId: string | null;
  depth: number;
}

function flatten(part: MimePart | null, parentPartId: string | null = null, depth = 0): FlatPart[] {
  if (!part) return [];
  return [
    { part, parentPartId, depth },
    ...part.children.flatMap((child) => flatten(child, part.partId, depth + 1)),
  ];
}

interface MessageShape extends OpenedMessage {
  globalId: string;
}

const HeaderRef = builder.objectRef<{ name: string; value: string }>('MessageHeader').implement({
  description: 'One header field, unfolded and decoded.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'The field name as written.' }),
    value: t.exposeString('value', { description: 'The value, decoded (RFC 2047, raw 8-bit text).' }),
  }),
});

const AddressRef = builder.objectRef<MailAddress>('MailAddress').implement({
  description: 'A mail address from a header, with its display name.',
  fields: (t) => ({
    name: t.exposeString('name', { description: "The display name, decoded; '' when there is none." }),
    address: t.exposeString('address', { description: 'The address.' }),
  }),
});

const SpamTestRef = builder.objectRef<SpamTest>('SpamRule').implement({
  description: 'One SpamAssassin rule that hit, with its score.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'The rule name, e.g. BAYES_99.' }),
    score: t.exposeFloat('score', {
      nullable: true,
      description: 'The points it added (negative ones subtract).',
    }),
    description: t.exposeString('description', {
      nullable: true,
      description: "What the rule means, from X-Spam-Report or SpamAssassin's rule files.",
    }),
  }),
});

const SpamVerdictRef = builder
  .objectRef<NonNullable<OpenedMessage['parsed']['spam']>>('SpamVerdict')
  .implement({
    description:
      "SpamAssassin's verdict as amavisd recorded it in the message (X-Spam-Status / X-Spam-Report).",
    fields: (t) => ({
      isSpam: t.exposeBoolean('isSpam', {
        nullable: true,
        description: 'Whether SpamAssassin called it spam.',
      }),
      score: t.exposeFloat('score', { nullable: true, description: 'The total score.' }),
      required: t.exposeFloat('required', {
        nullable: true,
        description: "The spam threshold: amavisd's tag2 level or SpamAssassin's required score.",
      }),
      killLevel: t.exposeFloat('killLevel', {
        nullable: true,
        description: "amavisd's kill level, when recorded.",
      }),
      tests: t.field({
        type: [SpamTestRef],
        description: 'The rules that hit, in the order recorded.',
        resolve: (verdict) => verdict.tests,
      }),
    }),
  });

const AmavisInfoRef = builder.objectRef<OpenedMessage['parsed']['amavis']>('AmavisInfo').implement({
  description: 'What amavisd wrote at the top of the quarantined copy.',
  fields: (t) => ({
    envelopeFrom: t.exposeString('envelopeFrom', {
      nullable: true,
      description: "X-Envelope-From without angle brackets; '' for the null sender <>.",
    }),
    envelopeTo: t.exposeStringList('envelopeTo', { description: 'X-Envelope-To: every envelope recipient.' }),
    quarantineId: t.exposeString('quarantineId', { nullable: true, description: 'X-Quarantine-ID.' }),
    alerts: t.exposeStringList('alerts', {
      description: 'X-Amavis-Alert: why amavisd blocked it (banned file, bad header, virus name).',
    }),
  }),
});

const MimePartRef = builder.objectRef<FlatPart>('MimePart').implement({
  description: 'One node of the MIME tree, listed depth first.',
  fields: (t) => ({
    partId: t.string({
      description: '"1" for the message, "1.2" for its second part, and so on.',
      resolve: (p) => p.part.partId,
    }),
    parentPartId: t.string({
      nullable: true,
      description: 'The enclosing part.',
      resolve: (p) => p.parentPartId,
    }),
    depth: t.int({ description: 'Nesting depth; the message itself is 0.', resolve: (p) => p.depth }),
    contentType: t.string({ description: 'The declared content type.', resolve: (p) => p.part.contentType }),
    charset: t.string({
      nullable: true,
      description: 'The declared charset.',
      resolve: (p) => p.part.charset,
    }),
    disposition: t.string({
      nullable: true,
      description: 'inline or attachment, when declared.',
      resolve: (p) => p.part.disposition,
    }),
    filename: t.string({
      nullable: true,
      description: 'The name the message gives (as written: do not use it as a path).',
      resolve: (p) => p.part.filename,
    }),
    size: t.int({ description: 'Decoded size in bytes.', resolve: (p) => p.part.size }),
  }),
});

const AttachmentRef = builder
  .objectRef<OpenedMessage['parsed']['attachments'][number] & { globalId: string }>('Attachment')
  .implement({
    description: 'A file in the message.',
    fields: (t) => ({
      partId: t.exposeString('partId', { description: 'Its MIME part.' }),
      filename: t.exposeString('filename', { description: 'A safe name for showing and saving it.' }),
      originalFilename: t.exposeString('originalFilename', {
        nullable: true,
        description: 'The name exactly as the message gives it.',
      }),
      contentType: t.exposeString('contentType', { description: 'The declared content type.' }),
      size: t.exposeInt('size', { description: 'Decoded size in bytes.' }),
      sha256: t.exposeString('sha256', { description: 'SHA-256 of the decoded content, hex.' }),
      downloadUrl: t.string({
        description: 'Where to download it (same credentials); always served as application/octet-stream.',
        resolve: (a) => messageUrls(a.globalId).attachment(a.partId),
      }),
    }),
  });

const MessageRef = builder.objectRef<MessageShape>('MessageView').implement({
  description:
    'A quarantined message opened for one recipient: headers, verdict, MIME tree, text and attachments. ' +
    'Opening it as its recipient marks it viewed; every opening is audited.',
  fields: (t) => ({
    id: t.exposeID('globalId', { description: 'The global ID of the (message, recipient) entry.' }),
    entry: t.field({
      type: QuarantinedMessageRef,
      description: 'The quarantine entry as the listing shows it (verdict, score, status after opening).',
      resolve: (m) => m.entry,
    }),
    status: t.string({
      description: "The entry's release status code after opening (a space for new).",
      resolve: (m) => m.entry.statusCode,
    }),
    headers: t.field({
      type: [HeaderRef],
      description: 'Every header field in order, decoded.',
      resolve: (m) => m.parsed.headers,
    }),
    subject: t.string({
      nullable: true,
      description: 'The Subject, decoded.',
      resolve: (m) => m.parsed.subject,
    }),
    from: t.field({ type: [AddressRef], description: 'The From addresses.', resolve: (m) => m.parsed.from }),
    to: t.field({ type: [AddressRef], description: 'The To addresses.', resolve: (m) => m.parsed.to }),
    cc: t.field({ type: [AddressRef], description: 'The Cc addresses.', resolve: (m) => m.parsed.cc }),
    replyTo: t.field({
      type: [AddressRef],
      description: 'The Reply-To addresses.',
      resolve: (m) => m.parsed.replyTo,
    }),
    date: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'The Date header.',
      resolve: (m) => m.parsed.date,
    }),
    messageId: t.string({
      nullable: true,
      description: 'The Message-ID.',
      resolve: (m) => m.parsed.messageId,
    }),
    amavis: t.field({
      type: AmavisInfoRef,
      description: "amavisd's own header fields.",
      resolve: (m) => m.parsed.amavis,
    }),
    spam: t.field({
      type: SpamVerdictRef,
      nullable: true,
      description: 'The SpamAssassin verdict, rule by rule; null when the message was not scanned.',
      resolve: (m) => m.parsed.spam,
    }),
    parts: t.field({
      type: [MimePartRef],
      description: 'The MIME tree, depth first.',
      resolve: (m) => flatten(m.parsed.mime),
    }),
    text: t.string({
      nullable: true,
      description: 'The plain text body, decoded.',
      resolve: (m) => m.parsed.text,
    }),
    htmlUrl: t.string({
      nullable: true,
      description:
        'Where the sanitised HTML body is served, for a sandboxed iframe (add ?images=1 to allow remote ' +
        'images); null when there is no HTML body.',
      resolve: (m) => (m.parsed.html === null ? null : messageUrls(m.globalId).html),
    }),
    attachments: t.field({
      type: [AttachmentRef],
      description: 'The files in the message.',
      resolve: (m) => m.parsed.attachments.map((a) => ({ ...a, globalId: m.globalId })),
    }),
    rawUrl: t.string({
      description: 'Where to download the message as amavisd stored it (.eml).',
      resolve: (m) => messageUrls(m.globalId).raw,
    }),
    rawSize: t.int({ description: 'Size of the stored copy in bytes.', resolve: (m) => m.rawSize }),
    problems: t.stringList({
      description: 'What could not be read (a missing chunk, a broken MIME structure, an unknown charset).',
      resolve: (m) => m.problems,
    }),
  }),
});

builder.queryField('message', (t) =>
  t.field({
    type: MessageRef,
    nullable: true,
    description:
      'Opens one quarantined message for one recipient, by the global ID of its quarantine entry; null when ' +
      'it does not exist or the caller may not see it.',
    authScopes: { loggedIn: true },
    args: { id: t.arg.id({ description: 'The global ID of a QuarantinedMessage.' }) },
    resolve: async (_root, { id }, context) => {
      const key = entryKeyFromGlobalId(String(id));
      if (!key) return null;
      const viewer = { actor: context.actor, settings: await context.settings() };
      const opened = await openMessage(context.stores, viewer, key, context.client);
      return opened ? { ...opened, globalId: String(id) } : null;
    },
  }),
);
