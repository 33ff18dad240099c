// Assembles the schema: imports every feature's GraphQL file, then builds. Nothing else lives here.
import { builder } from './graphql/builder.ts';
import { withInlinedDefaultResolvers } from './graphql/compiled-queries.ts';
import './graphql/scalars.ts';
import './graphql/error-types.ts';
import './features/accounts/accounts.graphql.ts';
import './features/audit/audit.graphql.ts';
import './features/dashboard/dashboard.graphql.ts';
import './features/auth/auth.graphql.ts';
import './features/message/message.graphql.ts';
import './features/quarantine/quarantine.graphql.ts';
import './features/health/health.graphql.ts';
import './features/jobs/jobs.graphql.ts';
import './features/learning/learning.graphql.ts';
import './features/live/live.graphql.ts';
import './features/preferences/preferences.graphql.ts';
import './features/policies/policies.graphql.ts';
import './features/release/release.graphql.ts';
import './features/sender-lists/sender-lists.graphql.ts';
import './features/settings/settings.graphql.ts';

export const schema = withInlinedDefaultResolvers(builder.toSchema({ sortSchema: true }));
