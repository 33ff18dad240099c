import { builder } from '../../graphql/builder.ts';
import { checkServices, type ServiceProbe, type ServicesHealth } from '../../health.ts';

const ServiceProbeRef = builder.objectRef<ServiceProbe>('ServiceProbe').implement({
  description: 'The result of probing one service the console depends on.',
  fields: (t) => ({
    target: t.exposeString('target', {
      description: 'What was probed: an AM.PDP endpoint (unix:/path or inet:host:port), sa-learn or spamd.',
    }),
    host: t.exposeString('host', {
      nullable: true,
      description: 'For AM.PDP: the amavisd host (msgs.host) routed to this endpoint; null for the default.',
    }),
    ok: t.exposeBoolean('ok', { description: 'Whether it answered as it should.' }),
    latencyMs: t.exposeFloat('latencyMs', { description: 'How long the probe took, in milliseconds.' }),
    detail: t.exposeString('detail', {
      description:
        "The precise answer or error: amavisd's reply to a test release, refused, timed out, no permission.",
    }),
  }),
});

const ServicesHealthRef = builder.objectRef<ServicesHealth>('ServicesHealth').implement({
  description: 'Whether releasing and learning can work right now.',
  fields: (t) => ({
    amavis: t.field({
      type: [ServiceProbeRef],
      description:
        'Each AM.PDP endpoint (the default first), probed with a release request for a message that ' +
        'cannot exist: a healthy amavisd refuses it with its own "Failure" text.',
      resolve: (h) => h.amavis,
    }),
    spamassassin: t.field({
      type: ServiceProbeRef,
      description: 'sa-learn (local) or spamd (PING), as the settings say.',
      resolve: (h) => h.spamassassin,
    }),
  }),
});

builder.queryField('serviceHealth', (t) =>
  t.field({
    type: ServicesHealthRef,
    description: 'Probes amavisd (AM.PDP) and SpamAssassin now (admins).',
    authScopes: { admin: true },
    resolve: async (_root, _args, context) => checkServices(await context.settings()),
  }),
);
