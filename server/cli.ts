// Operator commands: `node server/cli.ts <command>` (npm scripts wrap them; see README.md).
import { loadConfig } from './config.ts';
import { createAmavisTables } from './db/amavis-tables.ts';
import { openDatabase } from './db/database.ts';
import { StartupError } from './startup-error.ts';

const commands: Record<string, { help: string; run: () => Promise<string> }> = {
  'create-amavis-tables': {
    help: "Creates amavisd's tables (as its README.sql-pg / README.sql-mysql does) in AMAVIS_DATABASE_URL.",
    run: async () => {
      const config = loadConfig();
      const connection = await openDatabase(config.amavisDatabase, 'amavis');
      try {
        const result = await createAmavisTables(connection);
        return result === 'created'
          ? `created the amavis tables in ${connection.display}`
          : `the amavis tables already exist in ${connection.display}; nothing changed`;
      } finally {
        await connection.close();
      }
    },
  },
};

const name = process.argv[2] ?? '';
const command = commands[name];
if (!command) {
  process.stderr.write(
    `usage: node server/cli.ts <command>\n${Object.entries(commands)
      .map(([key, c]) => `  ${key}  ${c.help}`)
      .join('\n')}\n`,
  );
  process.exit(2);
}
command
  .run()
  .then((message) => process.stdout.write(`${message}\n`))
  .catch((error: unknown) => {
    const known = error instanceof StartupError || (error instanceof Error && error.name === 'ConfigError');
    process.stderr.write(`amavis-console: ${name}: ${known ? (error as Error).message : String(error)}\n`);
    process.exit(1);
  });
