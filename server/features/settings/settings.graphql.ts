import { builder } from '../../graphql/builder.ts';
import { type Settings, updateSettings } from './settings.service.ts';

const AmPdpModeEnum = builder.enumType('AmPdpMode', {
  description: "How the console reaches amavisd's AM.PDP policy server for releases.",
  values: {
    unix: { value: 'unix', description: 'A unix socket (amPdpSocket).' },
    inet: { value: 'inet', description: 'TCP (amPdpHost, amPdpPort).' },
  },
});

/** Release rules have their own queries and mutations (features/release). */
/** Policy settings have theirs too (features/policies). */
type PlainSetting = Exclude<
  keyof Settings,
  'releaseRules' | 'amPdpEndpointsByHost' | 'domainAdminPolicyFields' | 'userPolicyFields' | 'userSenderLists'
>;

const PdpHostEndpointRef = builder
  .objectRef<{ host: string; endpoint: string }>('PdpHostEndpoint')
  .implement({
    description: 'Where releases of mail quarantined by one amavisd host go.',
    fields: (t) => ({
      host: t.exposeString('host', { description: 'The amavisd host name, as amavisd writes msgs.host.' }),
      endpoint: t.exposeString('endpoint', {
        description: 'Its AM.PDP endpoint: unix:/path/to/socket or inet:host:port.',
      }),
    }),
  });

const PdpHostEndpointInput = builder.inputType('PdpHostEndpointInput', {
  description: 'Where releases of mail quarantined by one amavisd host go.',
  fields: (t) => ({
    host: t.string({ description: 'The amavisd host name, as amavisd writes msgs.host.' }),
    endpoint: t.string({ description: 'Its AM.PDP endpoint: unix:/path/to/socket or inet:host:port.' }),
  }),
});

const ENDPOINTS_BY_HOST =
  'AM.PDP endpoints per amavisd host (msgs.host), for several amavisd hosts writing one database; ' +
  'mail from other hosts goes to the default endpoint.';

const descriptions: Record<PlainSetting, string> = {
  localpartIsCaseSensitive:
    "Whether address local parts are case-sensitive; must match amavisd's $localpart_is_case_sensitive.",
  recipientDelimiter:
    "The address extension delimiter (e.g. '+'); must match amavisd's $recipient_delimiter. Empty: none.",
  maxMessagesAge: 'Days quarantined mail is kept before the cleanup job removes it.',
  releasedMsgsCleanup: 'Whether the cleanup job also removes messages released to every recipient.',
  amPdpMode: "How to reach amavisd's AM.PDP server.",
  amPdpHost: 'AM.PDP host, in inet mode.',
  amPdpPort: 'AM.PDP port, in inet mode.',
  amPdpSocket: 'AM.PDP unix socket path, in unix mode.',
  userCanRelease: 'Whether users release their mail directly (otherwise they request a release).',
  selfService: "Whether recipients may act on a message from amavisd's notification link without logging in.",
  notificationsSender: 'The From address of mail the console sends (reminders, digests).',
  manualLearning: 'Whether SpamAssassin may be trained from the quarantine.',
  saIsLocal: 'Train with a local sa-learn (true) or through spamd with spamc (false).',
  defaultUser: 'The SpamAssassin user owning the global Bayes database.',
  spamdAddress: 'spamd host, when SpamAssassin is not local.',
  spamdPort: 'spamd port, when SpamAssassin is not local.',
  domainLevelLearning: 'Whether domain admins may train per-domain Bayes databases.',
  userLevelLearning: 'Whether users may train their own Bayes databases.',
  cleanupSchedule:
    'When the cleanup job runs: a cron expression (minute hour day-of-month month day-of-week, server time).',
  remindersSchedule: 'When admins are reminded of pending release requests: a cron expression.',
  digestsSchedule:
    "How often the digest job checks whose digest is due (each person's own time decides): a cron expression.",
};

const SettingsRef = builder.objectRef<Settings>('Settings').implement({
  description: "The console's settings (superadmins only).",
  fields: (t) => ({
    localpartIsCaseSensitive: t.exposeBoolean('localpartIsCaseSensitive', {
      description: descriptions.localpartIsCaseSensitive,
    }),
    recipientDelimiter: t.exposeString('recipientDelimiter', {
      description: descriptions.recipientDelimiter,
    }),
    maxMessagesAge: t.exposeInt('maxMessagesAge', { description: descriptions.maxMessagesAge }),
    releasedMsgsCleanup: t.exposeBoolean('releasedMsgsCleanup', {
      description: descriptions.releasedMsgsCleanup,
    }),
    amPdpMode: t.field({
      type: AmPdpModeEnum,
      description: descriptions.amPdpMode,
      resolve: (s) => s.amPdpMode,
    }),
    amPdpHost: t.exposeString('amPdpHost', { description: descriptions.amPdpHost }),
    amPdpPort: t.exposeInt('amPdpPort', { description: descriptions.amPdpPort }),
    amPdpSocket: t.exposeString('amPdpSocket', { description: descriptions.amPdpSocket }),
    amPdpEndpointsByHost: t.field({
      type: [PdpHostEndpointRef],
      description: ENDPOINTS_BY_HOST,
      resolve: (s) => Object.entries(s.amPdpEndpointsByHost).map(([host, endpoint]) => ({ host, endpoint })),
    }),
    userCanRelease: t.exposeBoolean('userCanRelease', { description: descriptions.userCanRelease }),
    selfService: t.exposeBoolean('selfService', { description: descriptions.selfService }),
    notificationsSender: t.exposeString('notificationsSender', {
      description: descriptions.notificationsSender,
    }),
    manualLearning: t.exposeBoolean('manualLearning', { description: descriptions.manualLearning }),
    saIsLocal: t.exposeBoolean('saIsLocal', { description: descriptions.saIsLocal }),
    defaultUser: t.exposeString('defaultUser', { description: descriptions.defaultUser }),
    spamdAddress: t.exposeString('spamdAddress', { description: descriptions.spamdAddress }),
    spamdPort: t.exposeInt('spamdPort', { description: descriptions.spamdPort }),
    domainLevelLearning: t.exposeBoolean('domainLevelLearning', {
      description: descriptions.domainLevelLearning,
    }),
    userLevelLearning: t.exposeBoolean('userLevelLearning', { description: descriptions.userLevelLearning }),
    cleanupSchedule: t.exposeString('cleanupSchedule', { description: descriptions.cleanupSchedule }),
    remindersSchedule: t.exposeString('remindersSchedule', { description: descriptions.remindersSchedule }),
    digestsSchedule: t.exposeString('digestsSchedule', { description: descriptions.digestsSchedule }),
  }),
});

const UpdateSettingsInput = builder.inputType('UpdateSettingsInput', {
  description: 'The settings to change; omitted ones stay as they are.',
  fields: (t) => ({
    localpartIsCaseSensitive: t.boolean({
      required: false,
      description: descriptions.localpartIsCaseSensitive,
    }),
    recipientDelimiter: t.string({ required: false, description: descriptions.recipientDelimiter }),
    maxMessagesAge: t.int({ required: false, description: descriptions.maxMessagesAge }),
    releasedMsgsCleanup: t.boolean({ required: false, description: descriptions.releasedMsgsCleanup }),
    amPdpMode: t.field({ type: AmPdpModeEnum, required: false, description: descriptions.amPdpMode }),
    amPdpHost: t.string({ required: false, description: descriptions.amPdpHost }),
    amPdpPort: t.int({ required: false, description: descriptions.amPdpPort }),
    amPdpSocket: t.string({ required: false, description: descriptions.amPdpSocket }),
    amPdpEndpointsByHost: t.field({
      type: [PdpHostEndpointInput],
      required: false,
      description: `${ENDPOINTS_BY_HOST} Replaces the whole list.`,
    }),
    userCanRelease: t.boolean({ required: false, description: descriptions.userCanRelease }),
    selfService: t.boolean({ required: false, description: descriptions.selfService }),
    notificationsSender: t.string({ required: false, description: descriptions.notificationsSender }),
    manualLearning: t.boolean({ required: false, description: descriptions.manualLearning }),
    saIsLocal: t.boolean({ required: false, description: descriptions.saIsLocal }),
    defaultUser: t.string({ required: false, description: descriptions.defaultUser }),
    spamdAddress: t.string({ required: false, description: descriptions.spamdAddress }),
    spamdPort: t.int({ required: false, description: descriptions.spamdPort }),
    domainLevelLearning: t.boolean({ required: false, description: descriptions.domainLevelLearning }),
    userLevelLearning: t.boolean({ required: false, description: descriptions.userLevelLearning }),
    cleanupSchedule: t.string({ required: false, description: descriptions.cleanupSchedule }),
    remindersSchedule: t.string({ required: false, description: descriptions.remindersSchedule }),
    digestsSchedule: t.string({ required: false, description: descriptions.digestsSchedule }),
  }),
});

builder.queryField('settings', (t) =>
  t.field({
    type: SettingsRef,
    description: "The console's settings.",
    authScopes: { superadmin: true },
    resolve: (_root, _args, context) => context.settings(),
  }),
);

builder.mutationField('updateSettings', (t) =>
  t.field({
    type: SettingsRef,
    description: 'Changes settings; the whole result is validated and written at once, and audited.',
    authScopes: { $all: { superadmin: true, write: true } },
    args: { input: t.arg({ type: UpdateSettingsInput, description: 'The settings to change.' }) },
    resolve: (_root, { input }, context) => {
      // GraphQL sends null for "not given"; only given values change.
      const { amPdpEndpointsByHost, ...rest } = input;
      const patch: Record<string, unknown> = Object.fromEntries(
        Object.entries(rest).filter(([, v]) => v !== null && v !== undefined),
      );
      if (amPdpEndpointsByHost) {
        patch.amPdpEndpointsByHost = Object.fromEntries(
          amPdpEndpointsByHost.map(({ host, endpoint }) => [host.trim().toLowerCase(), endpoint.trim()]),
        );
      }
      return updateSettings(context.stores.console, context.actor, patch, context.client.ip);
    },
  }),
);
