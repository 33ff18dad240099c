import { defineConfig } from 'drizzle-kit';

// Generates the console's MySQL/MariaDB migrations. amavisd's tables are not listed.
export default defineConfig({
  dialect: 'mysql',
  schema: './server/db/console-mysql.schema.ts',
  out: './drizzle/mysql',
});
