// Prints the schema to schema.graphql (npm run schema); a test fails when the committed file is stale.
import fs from 'node:fs';
import { printSchemaFile } from './graphql/print.ts';

const target = new URL('../schema.graphql', import.meta.url);
fs.writeFileSync(target, printSchemaFile());
process.stdout.write(`wrote ${target.pathname}\n`);
