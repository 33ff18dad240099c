// Runs `node server/main.ts` as the README's run command does, and watches what it prints.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const MAIN = fileURLToPath(new URL('../../server/main.ts', import.meta.url));
export const CLI = fileURLToPath(new URL('../../server/cli.ts', import.meta.url));
/**
 * `npm start`'s Node flags, so tests and benchmarks start the server the same way: server/module-hooks.ts,
 * V8's young generation capped, and the old generation let grow by half its live size between full
 * collections (V8's default factor, up to 4×, let a subscriber burst's garbage pile up past 300 MB).
 */
export const NODE_FLAGS = [
  '--import',
  fileURLToPath(new URL('../../server/module-hooks.ts', import.meta.url)),
  '--max-semi-space-size=8',
  '--heap-growing-percent=50',
];

export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

function baseEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const clean = { ...process.env };
  for (const key of [
    'AMAVIS_DATABASE_URL',
    'DATABASE_URL',
    'PORT',
    'HOST',
    'DATA_DIR',
    'ADMIN_EMAIL',
    'ADMIN_PASSWORD',
  ]) {
    delete clean[key];
  }
  // the job scheduler stays off unless a test asks for it (JOBS=on): runs at odd times make flaky tests
  return { ...clean, LOG_LEVEL: 'info', JOBS: 'off', ...env };
}

/** Runs the console to completion (for starts that must fail). */
export function runToExit(
  env: Record<string, string>,
  timeoutMs = 20_000,
  command: string[] = [MAIN],
): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...NODE_FLAGS, ...command], {
      env: baseEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`console did not exit within ${timeoutMs} ms; stdout: ${stdout}; stderr: ${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export interface Running {
  child: ChildProcess;
  url: string;
  logs: () => string;
  stop(signal?: NodeJS.Signals): Promise<Finished>;
}

/** Starts the console and resolves once it logs that it listens. */
export function startConsole(env: Record<string, string>, timeoutMs = 60_000): Promise<Running> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...NODE_FLAGS, MAIN], {
      env: baseEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const exited = new Promise<Finished>((done) =>
      child.on('exit', (code) => done({ code, stdout, stderr })),
    );
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`console did not start within ${timeoutMs} ms; stdout: ${stdout}; stderr: ${stderr}`));
    }, timeoutMs);
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.stdout.on('data', (d) => {
      stdout += d;
      for (const line of stdout.split('\n')) {
        if (!line.includes('amavis-console listening')) continue;
        clearTimeout(timer);
        resolve({
          child,
          url: (JSON.parse(line) as { url: string }).url.replace(/\/$/, ''),
          logs: () => stdout + stderr,
          stop: (signal = 'SIGTERM') => {
            child.kill(signal);
            return exited;
          },
        });
        return;
      }
    });
    void exited.then((finished) => {
      clearTimeout(timer);
      reject(new Error(`console exited with ${finished.code} before listening: ${finished.stderr}`));
    });
  });
}
