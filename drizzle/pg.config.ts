import { defineConfig } from 'drizzle-kit';

// Generates the console's PostgreSQL migrations (PGlite uses the same ones). amavisd's tables are
// not listed: the console never migrates them.
export default defineConfig({
  dialect: 'postgresql',
  schema: './server/db/console-pg.schema.ts',
  out: './drizzle/pg',
});
