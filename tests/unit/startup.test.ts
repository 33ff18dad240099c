// Bad configuration stops the start with one clear line; a good one starts the demo and stops cleanly.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { logInAs } from '../support/graphql-client.ts';
import { CLI, runToExit, startConsole } from '../support/run-console.ts';

const temp = fs.mkdtempSync(path.join(os.tmpdir(), 'ac-startup-'));
afterAll(() => fs.rmSync(temp, { recursive: true, force: true }));

function expectOneLine(stderr: string, pattern: RegExp) {
  const lines = stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^amavis-console: cannot start: /);
  expect(lines[0]).toMatch(pattern);
  expect(stderr).not.toMatch(/\n\s+at /);
}

describe('starting with bad configuration', () => {
  it('names an unknown database URL scheme', async () => {
    const result = await runToExit({ AMAVIS_DATABASE_URL: 'redis://127.0.0.1:6379/0' });
    expect(result.code).toBe(1);
    expectOneLine(result.stderr, /AMAVIS_DATABASE_URL has unknown scheme "redis:"/);
  });

  it('names an unreachable PostgreSQL without its password', async () => {
    const result = await runToExit({ AMAVIS_DATABASE_URL: 'postgres://amavis:s3cret@127.0.0.1:1/amavis' });
    expect(result.code).toBe(1);
    expectOneLine(
      result.stderr,
      /cannot reach the amavis database at postgres:\/\/amavis:\*\*\*@127\.0\.0\.1:1\/amavis: connection refused/,
    );
    expect(result.stderr + result.stdout).not.toContain('s3cret');
  });

  it('names an unreachable MariaDB console database', async () => {
    const result = await runToExit({
      DATA_DIR: path.join(temp, 'console-db'),
      DATABASE_URL: 'mysql://root@127.0.0.1:1/console',
    });
    expect(result.code).toBe(1);
    expectOneLine(
      result.stderr,
      /cannot reach the console database at mysql:\/\/root@127\.0\.0\.1:1\/console: connection refused/,
    );
  });

  it('names an unwritable data folder', async () => {
    const file = path.join(temp, 'a-file');
    fs.writeFileSync(file, '');
    const result = await runToExit({ DATA_DIR: path.join(file, 'data') });
    expect(result.code).toBe(1);
    expectOneLine(result.stderr, /data folder .*a-file\/data\/pglite is not writable/);
  });

  it('names a port already in use', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const result = await runToExit({
        DATA_DIR: path.join(temp, 'port'),
        PORT: String(port),
        DEMO_DATA: 'false',
      });
      expect(result.code).toBe(1);
      expectOneLine(result.stderr, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use`));
    } finally {
      blocker.close();
    }
  });

  it('names an invalid port', async () => {
    const result = await runToExit({ PORT: 'eighty' });
    expect(result.code).toBe(1);
    expectOneLine(result.stderr, /PORT: /);
  });
});

describe('starting on the embedded default', () => {
  it('serves the demo quarantine, reports health and stops on SIGTERM', async () => {
    const running = await startConsole({ DATA_DIR: path.join(temp, 'demo'), PORT: '0' });
    try {
      const health = await fetch(`${running.url}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({
        status: 'ok',
        databases: { amavis: { reachable: true, embedded: true }, console: { reachable: true } },
      });
      expect(running.logs()).toMatch(/loaded the demo quarantine/);
      const login = /(admin@example\.com)\s+(\S+)\s+superadmin/.exec(running.logs());
      expect(login).not.toBeNull();
      const admin = await logInAs(running.url, login?.[1] ?? '', login?.[2] ?? '');
      const body = await admin.gql<{ quarantine: { edges: unknown[] } }>(
        '{ quarantine(first: 5) { edges { node { mailId subject content { kind } } } } }',
      );
      expect(body.data?.quarantine.edges).toHaveLength(5);
    } finally {
      const finished = await running.stop('SIGTERM');
      expect(finished.code).toBe(0);
    }
  });
});

describe('the first superadmin', () => {
  it('is created at start from ADMIN_EMAIL and ADMIN_PASSWORD, and by the CLI later', async () => {
    const dataDir = path.join(temp, 'admin');
    const running = await startConsole({
      DATA_DIR: dataDir,
      PORT: '0',
      DEMO_DATA: 'false',
      ADMIN_EMAIL: 'First@Admin.test',
      ADMIN_PASSWORD: 'first-admin-password',
    });
    try {
      expect(running.logs()).toMatch(/created the first superadmin from ADMIN_EMAIL/);
      expect(running.logs()).not.toContain('first-admin-password');
      const admin = await logInAs(running.url, 'first@admin.test', 'first-admin-password');
      const viewer = await admin.gql<{ viewer: { role: string } }>('{ viewer { role } }');
      expect(viewer.data?.viewer.role).toBe('superadmin');
    } finally {
      expect((await running.stop()).code).toBe(0);
    }

    const refused = await runToExit({ DATA_DIR: dataDir }, 20_000, [
      CLI,
      'create-superadmin',
      '--email',
      'ops@admin.test',
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/set ADMIN_PASSWORD/);
    const created = await runToExit({ DATA_DIR: dataDir, ADMIN_PASSWORD: 'ops-admin-password' }, 20_000, [
      CLI,
      'create-superadmin',
      '--email',
      'ops@admin.test',
    ]);
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/created the superadmin ops@admin.test/);
    expect(created.stdout + created.stderr).not.toContain('ops-admin-password');

    const again = await startConsole({
      DATA_DIR: dataDir,
      PORT: '0',
      ADMIN_EMAIL: 'x@admin.test',
      ADMIN_PASSWORD: 'x-admin-password',
    });
    try {
      // accounts exist now, so ADMIN_EMAIL creates nothing
      expect(again.logs()).not.toMatch(/created the first superadmin/);
      await logInAs(again.url, 'ops@admin.test', 'ops-admin-password');
    } finally {
      await again.stop();
    }
  });
});
