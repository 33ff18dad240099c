import { builder } from '../../graphql/builder.ts';
import { ActionPayloadRef, actionContext, entryKeys, messageIds } from '../release/release.graphql.ts';
import { allowedLevels, LEARN_LEVELS, type LearnLevel, markMessages } from './learning.service.ts';

const LearnKindEnum = builder.enumType('LearnKind', {
  description: 'What to teach SpamAssassin a message is.',
  values: {
    spam: { value: 'spam', description: 'Spam (sa-learn --spam, spamc -L spam).' },
    ham: { value: 'ham', description: 'Not spam (sa-learn --ham, spamc -L ham).' },
  },
});

const LearnLevelEnum = builder.enumType('LearnLevel', {
  description: 'Which Bayes database learns: they are SpamAssassin usernames in one (SQL) Bayes store.',
  values: {
    global: {
      value: 'global',
      description: "amavisd's default user (setting defaultUser): everyone's filter.",
    },
    domain: {
      value: 'domain',
      description:
        "The recipient's domain: its @domain policy gets sa_username = the domain, so amavisd uses it.",
    },
    user: {
      value: 'user',
      description:
        "The recipient's own: its address policy gets sa_username = the address, so amavisd uses it.",
    },
  } as const satisfies Record<LearnLevel, unknown>,
});

const MarkMessagesInput = builder.inputType('MarkMessagesInput', {
  description: 'Messages to train SpamAssassin with, and what else to do with them.',
  fields: (t) => ({
    ids: messageIds(t),
    as: t.field({ type: LearnKindEnum, description: 'Spam or not spam.' }),
    level: t.field({
      type: LearnLevelEnum,
      required: false,
      description: "Which database; the caller's default (see learningLevels) when omitted.",
    }),
    release: t.boolean({
      required: false,
      description: 'With ham: also release each message that was learned ("not spam: release and learn").',
    }),
    delete: t.boolean({
      required: false,
      description: 'With spam: also delete each message that was learned ("spam: learn and delete").',
    }),
  }),
});

builder.mutationField('markMessages', (t) =>
  t.field({
    type: ActionPayloadRef,
    description:
      "Trains SpamAssassin with the messages' original bytes under the username amavisd scans the " +
      "recipient with; status becomes 'S' or 'H' where it worked. Each item reports the tool's own " +
      'message on failure.',
    authScopes: { $all: { loggedIn: true, write: true } },
    args: { input: t.arg({ type: MarkMessagesInput, description: 'The messages and what to learn.' }) },
    resolve: async (_root, { input }, context) => ({
      results: await markMessages(await actionContext(context), entryKeys(input.ids.map(String)), {
        as: input.as,
        ...(input.level ? { level: input.level } : {}),
        release: input.release ?? false,
        delete: input.delete ?? false,
      }),
    }),
  }),
);

builder.queryField('learningLevels', (t) =>
  t.field({
    type: [LearnLevelEnum],
    description: 'The Bayes levels the caller may train, in order of preference; empty when learning is off.',
    authScopes: { loggedIn: true },
    resolve: async (_root, _args, context) => {
      const allowed = allowedLevels(context.actor, await context.settings());
      return LEARN_LEVELS.filter((level) => allowed.includes(level));
    },
  }),
);
