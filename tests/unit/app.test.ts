// One process, one port: the web app, /healthz and GraphQL over HTTP, SSE and graphql-ws.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createSuperadmin } from '../../server/features/auth/auth.service.ts';
import { addMessage } from '../support/factories.ts';
import { logInAs } from '../support/graphql-client.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';

describe('the HTTP server', () => {
  let app: TestApp;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ac-app-'));

  let token: string;

  beforeAll(async () => {
    app = await startTestApp({ DATA_DIR: dir, DEMO_DATA: 'false' });
    await createSuperadmin(
      app.stores.console,
      { email: 'root@admin.test', password: 'app-password-1' },
      { onlyIfNoAccounts: true },
    );
    const admin = await logInAs(app.url, 'root@admin.test', 'app-password-1');
    const created = await admin.gql<{ createApiToken: { secret: string } }>(
      'mutation { createApiToken(input: { name: "transports", access: read }) { secret } }',
    );
    token = created.data?.createApiToken.secret ?? '';
    await addMessage(app.stores.amavis, {
      timeNum: 1_790_000_000,
      subject: 'over every transport',
      recipients: [{ email: 'alice@example.com' }],
    });
  });

  afterAll(async () => {
    await app?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reports version and database reachability at /healthz', async () => {
    const response = await fetch(`${app.url}/healthz`);
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body).toEqual({
      status: 'ok',
      version: JSON.parse(fs.readFileSync('package.json', 'utf8')).version,
      databases: {
        amavis: { reachable: true, dialect: 'postgresql', embedded: true },
        console: { reachable: true, dialect: 'postgresql', embedded: true },
      },
    });
  });

  it('serves the SvelteKit app for other paths', async () => {
    const response = await fetch(`${app.url}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/text\/html/);
    expect(await response.text()).toContain('amavis-console');
  });

  it('answers GraphQL over Server-Sent Events', async () => {
    const response = await fetch(`${app.url}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        authorization: `Bearer ${token}`,
      },
      body: JSON.stringify({ query: '{ quarantine(first: 1) { edges { node { subject } } } }' }),
    });
    expect(response.headers.get('content-type')).toMatch(/text\/event-stream/);
    expect(await response.text()).toContain('"subject":"over every transport"');
  });

  it('answers GraphQL over graphql-ws on the same path and port', async () => {
    const client = createClient({
      url: `${app.url.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${token}` },
    });
    try {
      const result = await new Promise<unknown>((resolve, reject) => {
        let value: unknown;
        client.subscribe(
          { query: '{ quarantine(first: 1) { edges { node { subject } } } }' },
          { next: (data) => (value = data), error: reject, complete: () => resolve(value) },
        );
      });
      expect(result).toEqual({
        data: { quarantine: { edges: [{ node: { subject: 'over every transport' } }] } },
      });
    } finally {
      await client.dispose();
    }
  });

  it('ignores a session cookie on a WebSocket opened from another site', async () => {
    const admin = await logInAs(app.url, 'root@admin.test', 'app-password-1');
    const headers = { cookie: `ac_session=${admin.session()}`, origin: 'https://evil.example' };
    class CrossSiteSocket extends WebSocket {
      constructor(address: string, protocols?: string | string[]) {
        super(address, protocols, { headers });
      }
    }
    const client = createClient({
      url: `${app.url.replace('http', 'ws')}/graphql`,
      webSocketImpl: CrossSiteSocket,
    });
    try {
      const result = await new Promise<{ errors?: { extensions?: { code?: string } }[] }>(
        (resolve, reject) => {
          client.subscribe(
            { query: '{ quarantine(first: 1) { edges { node { subject } } } }' },
            {
              next: (data) => resolve(data as never),
              error: (e) => resolve(e as never),
              complete: () => reject(new Error('no result')),
            },
          );
        },
      );
      expect(JSON.stringify(result)).toContain('UNAUTHENTICATED');
    } finally {
      await client.dispose();
    }
  });

  it('refuses form-encoded and GET requests, which another site could forge', async () => {
    const form = await fetch(`${app.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'query=%7B__typename%7D',
    });
    expect(form.status).toBe(415);
    const get = await fetch(`${app.url}/graphql?query=%7B__typename%7D`);
    expect(get.status).toBe(405);
  });

  it('rejects a malformed GraphQL document with a clear error, not a 500', async () => {
    const response = await fetch(`${app.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body: JSON.stringify({ query: '{ quarantine(first: "many") { edges' }),
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { errors: { message: string }[] };
    expect(body.errors[0]?.message).toMatch(/Syntax Error/);
  });
});
