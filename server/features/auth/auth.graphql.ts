import { ANONYMOUS } from '../../access/actor.ts';
import { normaliseAddress } from '../../access/address-matching.ts';
import { loadAccountActor, resolveActor } from '../../access/resolve-actor.ts';
import { builder } from '../../graphql/builder.ts';
import type { Context } from '../../graphql/context.ts';
import { ErrorInterface } from '../../graphql/error-types.ts';
import { resultUnion } from '../../graphql/errors.ts';
import { RoleEnum } from '../../graphql/role-enum.ts';
import {
  InvalidCredentialsError,
  InvalidLinkError,
  ServiceUnavailableError,
  TooManyAttemptsError,
} from './auth.errors.ts';
import {
  type ApiTokenRow,
  changePassword,
  createApiToken,
  listApiTokens,
  logIn,
  logOut,
  revokeApiToken,
  startSelfService,
} from './auth.service.ts';

builder.objectType(InvalidCredentialsError, {
  name: 'InvalidCredentialsError',
  description: 'The address or the password is wrong (deliberately not saying which).',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof InvalidCredentialsError,
  fields: () => ({}),
});

builder.objectType(TooManyAttemptsError, {
  name: 'TooManyAttemptsError',
  description: 'Too many failed attempts from this client or for this identity; wait and retry.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof TooManyAttemptsError,
  fields: (t) => ({
    retryAfterSeconds: t.exposeInt('retryAfterSeconds', {
      description: 'How long to wait before trying again.',
    }),
  }),
});

builder.objectType(InvalidLinkError, {
  name: 'InvalidLinkError',
  description: 'The self-service link is wrong, or self-service is turned off.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof InvalidLinkError,
  fields: () => ({}),
});

builder.objectType(ServiceUnavailableError, {
  name: 'ServiceUnavailableError',
  description: 'A server the console relies on (e.g. the IMAP server checking passwords) did not answer.',
  interfaces: [ErrorInterface],
  isTypeOf: (value) => value instanceof ServiceUnavailableError,
  fields: () => ({}),
});

const AccessEnum = builder.enumType('TokenAccess', {
  description: "What an API token may do with its account's rights.",
  values: {
    full: { value: 'full', description: 'Everything the account may do.' },
    read: { value: 'read', description: 'Only queries: no mutation succeeds.' },
  },
});

const ViewerKindEnum = builder.enumType('ViewerKind', {
  description: 'How the caller is identified.',
  values: {
    anonymous: { value: 'anonymous', description: 'No credentials (or expired ones).' },
    account: { value: 'account', description: 'A console account, through a session or an API token.' },
    selfService: { value: 'selfService', description: 'A recipient through an amavisd notification link.' },
  },
});

interface ViewerShape {
  context: Context;
}

const ViewerRef = builder.objectRef<ViewerShape>('Viewer').implement({
  description: 'The caller, as the server sees them.',
  fields: (t) => ({
    kind: t.field({
      type: ViewerKindEnum,
      description: 'How the caller is identified.',
      resolve: ({ context }) => context.actor.kind,
    }),
    email: t.string({
      nullable: true,
      description: "The account's login address; null unless kind is account.",
      resolve: ({ context }) => (context.actor.kind === 'account' ? context.actor.email : null),
    }),
    role: t.field({
      type: RoleEnum,
      nullable: true,
      description: "The account's role; null unless kind is account.",
      resolve: ({ context }) => (context.actor.kind === 'account' ? context.actor.role : null),
    }),
    addresses: t.stringList({
      description: 'The mail addresses whose quarantine the caller sees as their own.',
      resolve: ({ context }) => {
        const { actor } = context;
        if (actor.kind === 'account') return actor.addresses;
        if (actor.kind === 'selfService') return [actor.recipient];
        return [];
      },
    }),
    domains: t.stringList({
      description: 'The domains (and alias domains) a domain admin administers.',
      resolve: ({ context }) => (context.actor.kind === 'account' ? context.actor.domains : []),
    }),
    access: t.field({
      type: AccessEnum,
      nullable: true,
      description: 'What the credential may do; read for read-only API tokens.',
      resolve: ({ context }) => (context.actor.kind === 'account' ? context.actor.access : null),
    }),
    selfServiceMailId: t.string({
      nullable: true,
      description: 'For self-service: the one message the link opens.',
      resolve: ({ context }) => (context.actor.kind === 'selfService' ? context.actor.mailId : null),
    }),
  }),
});

const ApiTokenRef = builder.objectRef<ApiTokenRow>('ApiToken').implement({
  description: 'A credential for scripts, sent as "Authorization: Bearer <secret>".',
  fields: (t) => ({
    id: t.exposeInt('id', { description: 'The token number, for revoking it.' }),
    name: t.exposeString('name', { description: 'What the token is for.' }),
    prefix: t.exposeString('prefix', { description: 'The first characters of the secret, to recognise it.' }),
    access: t.field({
      type: AccessEnum,
      description: 'What it may do.',
      resolve: (row) => row.access as 'full' | 'read',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
    expiresAt: t.expose('expiresAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When it stops working, if ever.',
    }),
    lastUsedAt: t.expose('lastUsedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When it was last used (to within a minute or two).',
    }),
    revokedAt: t.expose('revokedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When it was revoked.',
    }),
  }),
});

builder.queryField('viewer', (t) =>
  t.field({
    type: ViewerRef,
    description: 'Who the caller is: anonymous, an account, or a self-service link.',
    resolve: (_root, _args, context) => ({ context }),
  }),
);

builder.queryField('apiTokens', (t) =>
  t.field({
    type: [ApiTokenRef],
    description: "The caller's own API tokens, revoked ones included. Secrets are never shown again.",
    authScopes: { account: true },
    resolve: (_root, _args, context) => listApiTokens(context.stores.console, context.actor),
  }),
);

builder.mutationType({ description: 'The root of every change.' });

const LogInInput = builder.inputType('LogInInput', {
  description: 'Credentials for logging in.',
  fields: (t) => ({
    email: t.string({ description: 'The login address.' }),
    password: t.string({ description: 'The password (or the mailbox password, with IMAP login).' }),
  }),
});

const authOptions = (context: Context) => ({
  sessionTtlMs: context.config.sessionTtlMs,
  imapUrl: context.config.imapUrl,
  throttles: context.throttles,
});

builder.mutationField('logIn', (t) =>
  t.field({
    type: ViewerRef,
    description: 'Logs in and sets the session cookie (HttpOnly, SameSite=Lax).',
    args: { input: t.arg({ type: LogInInput, description: 'The credentials.' }) },
    errors: resultUnion('LogInResult', 'The new viewer, or why the login failed.', [
      InvalidCredentialsError,
      TooManyAttemptsError,
      ServiceUnavailableError,
    ]),
    resolve: async (_root, { input }, context) => {
      const session = await logIn(context.stores.console, authOptions(context), input, context.client);
      context.setSessionCookie(session.secret, session.expiresAt);
      const actor = await loadAccountActor(context.stores.console, session.accountId, {
        access: 'full',
        via: 'session',
      });
      return { context: { ...context, actor: actor ?? context.actor } };
    },
  }),
);

builder.mutationField('logOut', (t) =>
  t.field({
    type: ViewerRef,
    description: 'Ends the session and clears the cookie. Returns the now anonymous viewer.',
    resolve: async (_root, _args, context) => {
      await logOut(context.stores.console, context.actor, context.client);
      context.setSessionCookie(null);
      return { context: { ...context, actor: ANONYMOUS } };
    },
  }),
);

const ChangePasswordInput = builder.inputType('ChangePasswordInput', {
  description: 'The current password and the new one.',
  fields: (t) => ({
    currentPassword: t.string({ description: 'The password in use now.' }),
    newPassword: t.string({ description: 'The new password: at least 10 characters.' }),
  }),
});

builder.mutationField('changePassword', (t) =>
  t.field({
    type: ViewerRef,
    description: "Changes the caller's password and ends their other sessions.",
    authScopes: { $all: { account: true, write: true } },
    args: { input: t.arg({ type: ChangePasswordInput, description: 'The passwords.' }) },
    errors: resultUnion('ChangePasswordResult', 'The viewer, or why the change failed.', [
      InvalidCredentialsError,
    ]),
    resolve: async (_root, { input }, context) => {
      await changePassword(context.stores.console, context.actor, input, context.client);
      return { context };
    },
  }),
);

const CreateApiTokenInput = builder.inputType('CreateApiTokenInput', {
  description: 'A new API token.',
  fields: (t) => ({
    name: t.string({ description: 'What the token is for (1 to 100 characters).' }),
    access: t.field({
      type: AccessEnum,
      defaultValue: 'read',
      description: 'What it may do; read by default.',
    }),
    expiresAt: t.field({
      type: 'DateTime',
      required: false,
      description: 'When it stops working; never if unset.',
    }),
  }),
});

const CreatedApiTokenRef = builder
  .objectRef<{ secret: string; token: ApiTokenRow }>('CreatedApiToken')
  .implement({
    description: 'A new token and its secret, which is shown this once.',
    fields: (t) => ({
      secret: t.exposeString('secret', {
        description: 'The secret to send as a Bearer token. Store it now.',
      }),
      token: t.field({ type: ApiTokenRef, description: 'The token.', resolve: (created) => created.token }),
    }),
  });

builder.mutationField('createApiToken', (t) =>
  t.field({
    type: CreatedApiTokenRef,
    description: "Creates an API token with the caller's rights (or read-only).",
    authScopes: { $all: { account: true, write: true } },
    args: { input: t.arg({ type: CreateApiTokenInput, description: 'The token to create.' }) },
    resolve: (_root, { input }, context) =>
      createApiToken(context.stores.console, context.actor, input, context.client),
  }),
);

builder.mutationField('revokeApiToken', (t) =>
  t.field({
    type: ApiTokenRef,
    description:
      "Revokes one of the caller's API tokens (superadmins: anyone's). It stops working at once here, and on other replicas within about a second.",
    authScopes: { $all: { account: true, write: true } },
    args: { id: t.arg.int({ description: 'The token number.' }) },
    resolve: (_root, { id }, context) =>
      revokeApiToken(context.stores.console, context.actor, id, context.client),
  }),
);

const StartSelfServiceInput = builder.inputType('StartSelfServiceInput', {
  description: "The three values of amavisd's notification link /quarantine/<mail_id>/?rcpt=…&secret_id=….",
  fields: (t) => ({
    mailId: t.string({ description: 'The mail_id of the message.' }),
    secretId: t.string({ description: 'The secret_id from the link.' }),
    recipient: t.string({ description: 'The recipient the link was sent to.' }),
  }),
});

builder.mutationField('startSelfService', (t) =>
  t.field({
    type: ViewerRef,
    description:
      'Opens a session limited to one quarantined message and recipient, when self-service is enabled.',
    args: { input: t.arg({ type: StartSelfServiceInput, description: 'The link values.' }) },
    errors: resultUnion('StartSelfServiceResult', 'The self-service viewer, or why the link failed.', [
      InvalidLinkError,
      TooManyAttemptsError,
    ]),
    resolve: async (_root, { input }, context) => {
      const settings = await context.settings();
      const session = await startSelfService(
        context.stores.amavis,
        context.stores.console,
        { ...authOptions(context), enabled: settings.selfService, ttlMs: 60 * 60 * 1000 },
        input,
        (address) => normaliseAddress(address, settings),
        context.client,
      );
      context.setSessionCookie(session.secret, session.expiresAt);
      const actor = await resolveActor(context.stores.console, { session: session.secret });
      return { context: { ...context, actor } };
    },
  }),
);
