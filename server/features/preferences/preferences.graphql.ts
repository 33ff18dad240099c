import { MAX_PAGE_SIZE } from '../../db/paging.ts';
import { builder } from '../../graphql/builder.ts';
import type { DigestFrequency } from './digest-schedule.ts';
import {
  getMyPreferences,
  type Preferences,
  type PreferencesPatch,
  updateMyPreferences,
} from './preferences.service.ts';

const DigestFrequencyEnum = builder.enumType('DigestFrequency', {
  description: 'How often a quarantine digest is sent.',
  values: {
    daily: { value: 'daily', description: 'Every day.' },
    weekdays: { value: 'weekdays', description: 'Monday to Friday.' },
    weekly: { value: 'weekly', description: 'Once a week, on digestWeekday.' },
  } as const satisfies Record<DigestFrequency, unknown>,
});

const D = {
  pageSize: `Messages per page in the listing (10 to ${MAX_PAGE_SIZE}); null: the default.`,
  language: 'The language of the web app, as a language tag (en, pt-BR); null: as the browser asks.',
  timeZone:
    'An IANA time zone (Europe/Paris) for times shown and the time of the digest; null: the time zone of the server.',
  digestEnabled: 'Whether you get a quarantine digest mail with one-click actions.',
  digestFrequency: 'How often the digest comes.',
  digestMinute: 'The time of day the digest comes, in minutes after midnight in your time zone (0 to 1439).',
  digestWeekday: 'For a weekly digest: the day, 0 = Sunday … 6 = Saturday.',
};

const PreferencesRef = builder.objectRef<Preferences>('Preferences').implement({
  description: 'Your own preferences.',
  fields: (t) => ({
    pageSize: t.exposeInt('pageSize', { nullable: true, description: D.pageSize }),
    language: t.exposeString('language', { nullable: true, description: D.language }),
    timeZone: t.exposeString('timeZone', { nullable: true, description: D.timeZone }),
    digestEnabled: t.exposeBoolean('digestEnabled', { description: D.digestEnabled }),
    digestFrequency: t.field({
      type: DigestFrequencyEnum,
      description: D.digestFrequency,
      resolve: (p) => p.digestFrequency,
    }),
    digestMinute: t.exposeInt('digestMinute', { description: D.digestMinute }),
    digestWeekday: t.exposeInt('digestWeekday', { nullable: true, description: D.digestWeekday }),
    lastDigestAt: t.expose('lastDigestAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When your last digest was sent; the next lists what was quarantined after it.',
    }),
    nextDigestAt: t.expose('nextDigestAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When your next digest is due; null when digests are off.',
    }),
  }),
});

builder.queryField('myPreferences', (t) =>
  t.field({
    type: PreferencesRef,
    description: 'Your preferences (console accounts).',
    authScopes: { account: true },
    resolve: (_root, _args, context) => getMyPreferences(context.stores.console, context.actor),
  }),
);

const UpdateMyPreferencesInput = builder.inputType('UpdateMyPreferencesInput', {
  description: 'The preferences to change; omitted ones stay as they are, null clears an optional one.',
  fields: (t) => ({
    pageSize: t.int({ required: false, description: D.pageSize }),
    language: t.string({ required: false, description: D.language }),
    timeZone: t.string({ required: false, description: D.timeZone }),
    digestEnabled: t.boolean({ required: false, description: D.digestEnabled }),
    digestFrequency: t.field({ type: DigestFrequencyEnum, required: false, description: D.digestFrequency }),
    digestMinute: t.int({ required: false, description: D.digestMinute }),
    digestWeekday: t.int({ required: false, description: D.digestWeekday }),
  }),
});

const NULLABLE = ['pageSize', 'language', 'timeZone', 'digestWeekday'] as const;

builder.mutationField('updateMyPreferences', (t) =>
  t.field({
    type: PreferencesRef,
    description:
      'Changes your preferences; bad values (an unknown time zone, a time out of range) are refused.',
    authScopes: { $all: { account: true, write: true } },
    args: { input: t.arg({ type: UpdateMyPreferencesInput, description: 'What to change.' }) },
    resolve: (_root, { input }, context) => {
      // GraphQL's null: clear the optional ones; for the others it means "not given"
      const patch: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(input)) {
        if (value === undefined) continue;
        if (value === null && !(NULLABLE as readonly string[]).includes(key)) continue;
        patch[key] = value;
      }
      return updateMyPreferences(
        context.stores.console,
        context.actor,
        patch as PreferencesPatch,
        context.client.ip,
      );
    },
  }),
);
