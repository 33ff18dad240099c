// Assembles the schema: imports every feature's GraphQL file, then builds. Nothing else lives here.
import { builder } from './graphql/builder.ts';
import './graphql/scalars.ts';
import './features/quarantine/quarantine.graphql.ts';

export const schema = builder.toSchema({ sortSchema: true });
