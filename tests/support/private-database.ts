// Private, throwaway database servers for tests that must stop and restart the server itself (the shared
// PostgreSQL and MariaDB on 5432/3306 serve other test runs and are never restarted). Each server gets its
// own data directory under the temp folder, its own port and socket, runs as the `postgres` / `mysql` OS
// user when the tests run as root (initdb and mariadbd refuse root), and durability is switched off for
// speed: the data only has to survive a clean restart.
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import postgres from 'postgres';
import type { Dialect } from '../../server/config.ts';

const run = promisify(execFile);

export interface PrivateServer {
  dialect: Dialect;
  /** An admin URL for the server's default database (postgres / the MariaDB root). */
  adminUrl: string;
  /** The URL of `database` on this server. */
  urlFor(database: string): string;
  /** Stops the server (cleanly: open connections are cut) and returns once it is down. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data directory; returns once it accepts connections. */
  start(): Promise<void>;
  /** Stops it if running and removes its data directory. */
  destroy(): Promise<void>;
}

/** Where the binaries are, or why a private server cannot be started here. */
export function privateServerBinaries(dialect: Dialect): { ok: true } | { ok: false; reason: string } {
  if (dialect === 'pg') {
    return pgBinDir()
      ? { ok: true }
      : {
          ok: false,
          reason: 'PostgreSQL server binaries (initdb, pg_ctl; PRIVATE_PG_BIN or /usr/lib/postgresql/*/bin)',
        };
  }
  return mariadbBinaries()
    ? { ok: true }
    : { ok: false, reason: 'MariaDB server binaries (mariadb-install-db, mariadbd)' };
}

function pgBinDir(): string | null {
  const candidates = process.env.PRIVATE_PG_BIN
    ? [process.env.PRIVATE_PG_BIN]
    : fs.existsSync('/usr/lib/postgresql')
      ? fs
          .readdirSync('/usr/lib/postgresql')
          .filter((v) => /^\d+$/.test(v))
          .sort((a, b) => Number(b) - Number(a))
          .map((v) => `/usr/lib/postgresql/${v}/bin`)
      : [];
  return candidates.find((dir) => fs.existsSync(`${dir}/initdb`) && fs.existsSync(`${dir}/pg_ctl`)) ?? null;
}

function mariadbBinaries(): { installDb: string; server: string } | null {
  const installDb = ['/usr/bin/mariadb-install-db', '/usr/bin/mysql_install_db'].find((f) =>
    fs.existsSync(f),
  );
  const server = ['/usr/sbin/mariadbd', '/usr/sbin/mysqld'].find((f) => fs.existsSync(f));
  return installDb && server ? { installDb, server } : null;
}

const isRoot = () => process.getuid?.() === 0;

/** A port nobody listens on now (the kernel's pick); kept for the server's whole life, restarts too. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

function tempDir(owner: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `ac-private-${owner}-`));
  if (isRoot()) {
    const ids = spawnSync('id', ['-u', owner], { encoding: 'utf8' });
    const gids = spawnSync('id', ['-g', owner], { encoding: 'utf8' });
    fs.chownSync(dir, Number(ids.stdout.trim()), Number(gids.stdout.trim()));
  }
  return dir;
}

async function waitUntil(what: string, ready: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await ready().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} did not come up within ${timeoutMs} ms`);
    await sleep(100);
  }
}

/** Servers still running when the test process exits are stopped hard, never left behind. */
const running = new Set<() => void>();
process.once('exit', () => {
  for (const kill of running) kill();
});

async function startPostgres(): Promise<PrivateServer> {
  const bin = pgBinDir();
  if (!bin) throw new Error('no PostgreSQL server binaries found');
  const dir = tempDir('postgres');
  const data = path.join(dir, 'data');
  const port = await freePort();
  const asOwner = (file: string, args: string[]) =>
    isRoot() ? run('runuser', ['-u', 'postgres', '--', file, ...args]) : run(file, args);
  await asOwner(`${bin}/initdb`, [
    '-D',
    data,
    '-A',
    'trust',
    '-U',
    'postgres',
    '-E',
    'UTF8',
    '--locale=C',
    '--no-sync',
  ]);
  const options = [
    `-p ${port}`,
    `-k ${dir}`,
    '-c listen_addresses=127.0.0.1',
    '-c fsync=off',
    '-c synchronous_commit=off',
    '-c full_page_writes=off',
    '-c shared_buffers=16MB',
    '-c max_connections=50',
  ].join(' ');
  const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const accepts = async () => {
    const client = postgres(adminUrl, { max: 1, connect_timeout: 2, onnotice: () => {} });
    try {
      await client`select 1`;
      return true;
    } finally {
      await client.end({ timeout: 1 });
    }
  };
  let up = false;
  const kill = () => {
    spawnSync(isRoot() ? 'runuser' : `${bin}/pg_ctl`, [
      ...(isRoot() ? ['-u', 'postgres', '--', `${bin}/pg_ctl`] : []),
      '-D',
      data,
      '-m',
      'immediate',
      'stop',
    ]);
  };
  const server: PrivateServer = {
    dialect: 'pg',
    adminUrl,
    urlFor: (database) => `postgres://postgres@127.0.0.1:${port}/${database}`,
    start: async () => {
      await asOwner(`${bin}/pg_ctl`, [
        '-D',
        data,
        '-l',
        path.join(dir, 'server.log'),
        '-w',
        '-o',
        options,
        'start',
      ]);
      up = true;
      running.add(kill);
      await waitUntil('the private PostgreSQL', accepts, 20_000);
    },
    stop: async () => {
      if (!up) return;
      // fast: rolls back open transactions and cuts every connection, as an operator's restart does
      await asOwner(`${bin}/pg_ctl`, ['-D', data, '-m', 'fast', '-w', 'stop']);
      up = false;
      running.delete(kill);
    },
    destroy: async () => {
      await server.stop().catch(() => kill());
      running.delete(kill);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await server.start();
  } catch (error) {
    await server.destroy().catch(() => {});
    throw error;
  }
  return server;
}

async function startMariadb(): Promise<PrivateServer> {
  const binaries = mariadbBinaries();
  if (!binaries) throw new Error('no MariaDB server binaries found');
  const dir = tempDir('mysql');
  const data = path.join(dir, 'data');
  const port = await freePort();
  const user = isRoot() ? ['--user=mysql'] : [];
  await run(binaries.installDb, [
    '--no-defaults',
    `--datadir=${data}`,
    ...user,
    '--auth-root-authentication-method=normal',
    '--skip-test-db',
  ]);
  const adminUrl = `mysql://root@127.0.0.1:${port}/`;
  const accepts = async () => {
    const connection = await mysql.createConnection({ uri: adminUrl, connectTimeout: 2000 });
    await connection.end();
    return true;
  };
  let child: ChildProcess | null = null;
  const kill = () => child?.kill('SIGKILL');
  const server: PrivateServer = {
    dialect: 'mysql',
    adminUrl,
    urlFor: (database) => `mysql://root@127.0.0.1:${port}/${database}`,
    start: async () => {
      const started = spawn(
        binaries.server,
        [
          '--no-defaults',
          `--datadir=${data}`,
          ...user,
          `--port=${port}`,
          '--bind-address=127.0.0.1',
          `--socket=${path.join(dir, 'mysqld.sock')}`,
          `--pid-file=${path.join(dir, 'mysqld.pid')}`,
          `--log-error=${path.join(dir, 'server.log')}`,
          '--skip-log-bin',
          '--innodb-buffer-pool-size=32M',
          '--innodb-flush-log-at-trx-commit=2',
          '--innodb-doublewrite=0',
          '--max-connections=50',
        ],
        { stdio: 'ignore' },
      );
      child = started;
      running.add(kill);
      const exited = new Promise<never>((_, reject) =>
        started.once('exit', (code) => {
          if (child === started) reject(new Error(`the private MariaDB exited with ${code}; see ${dir}`));
        }),
      );
      exited.catch(() => {});
      await Promise.race([waitUntil('the private MariaDB', accepts, 30_000), exited]);
    },
    stop: async () => {
      const current = child;
      if (!current || current.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => current.once('exit', () => resolve()));
      child = null;
      // SIGTERM: a clean shutdown that closes every connection, as `systemctl restart mariadb` does
      current.kill('SIGTERM');
      await exited;
      running.delete(kill);
    },
    destroy: async () => {
      await server.stop().catch(() => kill());
      running.delete(kill);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await server.start();
  } catch (error) {
    await server.destroy().catch(() => {});
    throw error;
  }
  return server;
}

/** Creates and starts a private server of `dialect`. Call destroy() when done. */
export function startPrivateServer(dialect: Dialect): Promise<PrivateServer> {
  return dialect === 'pg' ? startPostgres() : startMariadb();
}

/** Creates a database on the private server; returns its URL. */
export async function createPrivateDatabase(server: PrivateServer, name: string): Promise<string> {
  if (server.dialect === 'pg') {
    const admin = postgres(server.adminUrl, { max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${name} encoding 'UTF8' template template0`);
    await admin.end();
  } else {
    const admin = await mysql.createConnection(server.adminUrl);
    await admin.query(`create database ${name} character set utf8mb4 collate utf8mb4_general_ci`);
    await admin.end();
  }
  return server.urlFor(name);
}
