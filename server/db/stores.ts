// The two stores the console works with: amavisd's database and the console's own (often the same one).
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { StartupError } from '../startup-error.ts';
import { type AmavisTables, amavisTables, createAmavisTables, missingAmavisTables } from './amavis-tables.ts';
import { type ConsoleTables, consoleTables, migrateConsoleTables } from './console-tables.ts';
import { type Connection, openDatabase } from './database.ts';

export interface AmavisStore {
  connection: Connection;
  t: AmavisTables;
}

export interface ConsoleStore {
  connection: Connection;
  t: ConsoleTables;
}

export interface Stores {
  amavis: AmavisStore;
  console: ConsoleStore;
  /** True when this start created the embedded amavis tables (a fresh data folder). */
  amavisCreated: boolean;
  close(): Promise<void>;
}

export async function openStores(config: Config, log: Logger): Promise<Stores> {
  const amavisConnection = await openDatabase(config.amavisDatabase, 'amavis');
  let consoleConnection = amavisConnection;
  try {
    if (config.consoleDatabase !== config.amavisDatabase) {
      consoleConnection = await openDatabase(config.consoleDatabase, 'console');
    }
    let amavisCreated = false;
    if (amavisConnection.embedded) {
      amavisCreated = (await createAmavisTables(amavisConnection)) === 'created';
      if (amavisCreated) log.info({ database: 'embedded' }, 'created the amavis tables');
    } else {
      const missing = await missingAmavisTables(amavisConnection);
      if (missing.length > 0) {
        throw new StartupError(
          `the amavis database at ${amavisConnection.display} has no ${missing.join(', ')} table(s); ` +
            'create them from amavisd-new\'s README.sql-* or run "npm run amavis:create-tables"',
        );
      }
    }
    try {
      await migrateConsoleTables(consoleConnection);
    } catch (error) {
      const reason = error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error);
      throw new StartupError(`cannot migrate the console tables at ${consoleConnection.display}: ${reason}`);
    }
    return {
      amavis: { connection: amavisConnection, t: amavisTables(amavisConnection.dialect) },
      console: { connection: consoleConnection, t: consoleTables(consoleConnection.dialect) },
      amavisCreated,
      close: async () => {
        if (consoleConnection !== amavisConnection) await consoleConnection.close();
        await amavisConnection.close();
      },
    };
  } catch (error) {
    if (consoleConnection !== amavisConnection) await consoleConnection.close().catch(() => {});
    await amavisConnection.close().catch(() => {});
    throw error;
  }
}
