// Every environment variable the console reads, parsed once. README.md documents each one.
import path from 'node:path';
import { z } from 'zod';
import { parseImapUrl } from './access/imap-auth.ts';

const DATABASE_SCHEMES = ['postgres:', 'postgresql:', 'mysql:', 'mariadb:'] as const;

export type Dialect = 'pg' | 'mysql';

export type DatabaseTarget =
  | { kind: 'embedded'; dir: string }
  | { kind: 'url'; dialect: Dialect; url: string; display: string };

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  amavisDatabase: DatabaseTarget;
  consoleDatabase: DatabaseTarget;
  /** Seed demo data into a fresh embedded database. */
  demoData: boolean;
  logLevel: string;
  shutdownTimeoutMs: number;
  /** How long a login lasts. */
  sessionTtlMs: number;
  /** Trust X-Forwarded-For / X-Forwarded-Proto from a reverse proxy. */
  trustProxy: boolean;
  /** How long a replica may keep a resolved session or token and the settings (0: never). */
  accessCacheMs: number;
  /** Check passwords against this IMAP server (imap:// or imaps://). */
  imapUrl: string | null;
  /** Create this superadmin at start when no account exists. */
  admin: { email: string; password: string } | null;
  /** The SMTP relay for mail the console sends (smtp:// or smtps://, credentials in the URL). */
  smtpUrl: string | null;
  /** Redis for live events across replicas (redis:// or rediss://); null: one instance, in memory. */
  redisUrl: string | null;
  /** How often live events poll amavisd's tables (without the PostgreSQL trigger) and the event log. */
  livePollIntervalMs: number;
  /** Where people reach the console (links in reminders and digests), without a trailing slash. */
  publicUrl: string | null;
  /** Whether this process runs the background job scheduler (JOBS=off for replicas that must not). */
  jobs: boolean;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Shows a database URL without its password, for logs and error lines. */
export function redactUrl(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '(unparseable URL)';
  }
}

function parseDatabaseUrl(variable: string, raw: string): DatabaseTarget {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${variable} is not a valid URL (expected postgres://… or mysql://…)`);
  }
  if (!(DATABASE_SCHEMES as readonly string[]).includes(url.protocol)) {
    throw new ConfigError(
      `${variable} has unknown scheme "${url.protocol}" (use postgres://, postgresql://, mysql:// or mariadb://)`,
    );
  }
  const dialect: Dialect = url.protocol.startsWith('postgres') ? 'pg' : 'mysql';
  if (url.protocol === 'mariadb:') url.protocol = 'mysql:';
  return { kind: 'url', dialect, url: url.toString(), display: redactUrl(raw) };
}

const booleanFlag = z
  .enum(['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off'])
  .transform((v) => ['1', 'true', 'yes', 'on'].includes(v));

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATA_DIR: z.string().min(1).default('./data'),
  AMAVIS_DATABASE_URL: z.string().optional(),
  DATABASE_URL: z.string().optional(),
  DEMO_DATA: booleanFlag.default(true),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).default(10_000),
  SESSION_TTL_HOURS: z.coerce
    .number()
    .positive()
    .max(24 * 90)
    .default(12),
  TRUST_PROXY: booleanFlag.default(false),
  ACCESS_CACHE_SECONDS: z.coerce.number().int().min(0).max(300).default(30),
  IMAP_URL: z.string().optional(),
  ADMIN_EMAIL: z.string().optional(),
  ADMIN_PASSWORD: z.string().optional(),
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\/[^\s]+$/, 'expected smtp://host:port or smtps://user:password@host:port')
    .optional(),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\/[^\s]+$/, 'expected redis://host:port or rediss://user:password@host:port')
    .optional(),
  LIVE_POLL_INTERVAL_MS: z.coerce.number().int().min(100).max(600_000).default(2000),
  PUBLIC_URL: z
    .url({
      protocol: /^https?$/,
      error: 'expected the http:// or https:// address people open the console at',
    })
    .optional(),
  JOBS: booleanFlag.default(true),
});

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const blankless = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(blankless);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = issue?.path.join('.') ?? 'environment';
    throw new ConfigError(`${name}: ${issue?.message ?? 'invalid value'}`);
  }
  const e = parsed.data;
  const dataDir = path.resolve(e.DATA_DIR);
  const embedded: DatabaseTarget = { kind: 'embedded', dir: path.join(dataDir, 'pglite') };
  const amavisDatabase = e.AMAVIS_DATABASE_URL
    ? parseDatabaseUrl('AMAVIS_DATABASE_URL', e.AMAVIS_DATABASE_URL)
    : embedded;
  const consoleDatabase = e.DATABASE_URL ? parseDatabaseUrl('DATABASE_URL', e.DATABASE_URL) : amavisDatabase;
  if (Boolean(e.ADMIN_EMAIL) !== Boolean(e.ADMIN_PASSWORD)) {
    throw new ConfigError('ADMIN_EMAIL and ADMIN_PASSWORD go together: set both or neither');
  }
  if (e.IMAP_URL) {
    try {
      parseImapUrl(e.IMAP_URL);
    } catch (error) {
      throw new ConfigError(`IMAP_URL: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return {
    port: e.PORT,
    host: e.HOST,
    dataDir,
    amavisDatabase,
    consoleDatabase,
    demoData: e.DEMO_DATA,
    logLevel: e.LOG_LEVEL,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    sessionTtlMs: e.SESSION_TTL_HOURS * 3600_000,
    trustProxy: e.TRUST_PROXY,
    accessCacheMs: e.ACCESS_CACHE_SECONDS * 1000,
    imapUrl: e.IMAP_URL ?? null,
    admin: e.ADMIN_EMAIL && e.ADMIN_PASSWORD ? { email: e.ADMIN_EMAIL, password: e.ADMIN_PASSWORD } : null,
    smtpUrl: e.SMTP_URL ?? null,
    redisUrl: e.REDIS_URL ?? null,
    livePollIntervalMs: e.LIVE_POLL_INTERVAL_MS,
    publicUrl: e.PUBLIC_URL ? e.PUBLIC_URL.replace(/\/+$/, '') : null,
    jobs: e.JOBS,
  };
}
