// A real browser opens a hostile quarantined message the way the web app will: the sanitised HTML in a
// sandboxed iframe. No script may run and nothing may load from anywhere but the console.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launchBrowser } from '../support/browser.ts';
import { openEmbeddedDatabase } from '../support/databases.ts';
import { buildMessageWorld, type MessageWorld } from '../support/message-view.shared.ts';
import { describeWith } from '../support/services.ts';

await describeWith(['chromium'], 'hostile HTML in a real browser', () => {
  let browser: Browser;
  let world: MessageWorld;
  let tracker: http.Server;
  const trackerHits: string[] = [];
  let dispose: () => Promise<void>;

  beforeAll(async () => {
    tracker = http.createServer((req, res) => {
      trackerHits.push(req.url ?? '');
      res.end('tracked');
    });
    await new Promise<void>((resolve) => tracker.listen(0, '127.0.0.1', resolve));
    const trackerUrl = `http://127.0.0.1:${(tracker.address() as AddressInfo).port}`;
    const database = await openEmbeddedDatabase();
    dispose = database.dispose;
    world = await buildMessageWorld(database.env, trackerUrl);
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await world?.app.close();
    await dispose?.();
    tracker?.close();
  });

  it('runs no script and loads nothing remote, framed or opened directly', async () => {
    const context = await browser.newContext();
    const origin = new URL(world.app.url);
    await context.addCookies([
      {
        name: 'ac_session',
        value: world.alice.session() ?? '',
        domain: origin.hostname,
        path: '/',
        httpOnly: true,
      },
    ]);
    const page = await context.newPage();
    const requests: string[] = [];
    page.on('request', (request) => requests.push(request.url()));
    const opened = await world.alice.gql<{ message: { htmlUrl: string } }>(
      'query($id: ID!) { message(id: $id) { htmlUrl } }',
      { id: world.entry },
    );
    const htmlUrl = `${world.app.url}${opened.data?.message.htmlUrl}`;

    await page.goto(`${world.app.url}/healthz`);
    await page.setContent(`<title>viewer</title><iframe id="body" sandbox src="${htmlUrl}"></iframe>`);
    const frame = await (await page.waitForSelector('#body')).contentFrame();
    await frame?.waitForLoadState('load');
    expect(await frame?.textContent('body')).toContain('Hi Alice');
    expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
    expect(await page.title()).toBe('viewer');

    const direct = await context.newPage();
    direct.on('request', (request) => requests.push(request.url()));
    await direct.goto(htmlUrl);
    expect(await direct.title()).not.toBe('pwned');
    expect(await direct.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
    await direct.waitForTimeout(300);

    expect(trackerHits).toEqual([]);
    expect(requests.filter((url) => !url.startsWith(world.app.url) && !url.startsWith('about:'))).toEqual([]);
    await context.close();
  });
});
