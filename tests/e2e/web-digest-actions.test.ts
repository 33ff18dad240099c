// A digest's one-click link in a real Chromium, with JavaScript off (a mail client's browser may have
// none): the link opens a confirmation page, the button acts once, and the result page says so; a reload
// or a second POST is refused with a clear page. axe-core checks each page (in a second context that
// runs scripts and lets axe past the page's strict CSP).
import { eq } from 'drizzle-orm';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { issueActionTokens, type TokenAction } from '../../server/features/digests/action-tokens.service.ts';
import { launchBrowser, screenshot, seriousViolations } from '../support/browser.ts';
import { openEmbeddedDatabase } from '../support/databases.ts';
import { addAccount, addMessage } from '../support/factories.ts';
import { describeWith } from '../support/services.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';

const ALICE = 'alice@digest.test';

await describeWith(['chromium'], 'digest action links in a real browser', () => {
  let browser: Browser;
  let app: TestApp;
  let dispose: () => Promise<void>;
  let aliceId: number;

  async function link(action: TokenAction, subject: string): Promise<{ url: string; mailId: string }> {
    const mailId = await addMessage(app.stores.amavis, {
      timeNum: Math.floor(Date.now() / 1000) - 60,
      subject,
      sender: 'mallory@evil.test',
      recipients: [{ email: ALICE, content: 'S' }],
    });
    const [token] = await issueActionTokens(app.stores.console, [
      { accountId: aliceId, action, partitionTag: 0, mailId, rseqnum: 1, recipient: ALICE },
    ]);
    return { url: `${app.url}/actions/${token}`, mailId };
  }

  async function status(mailId: string): Promise<string | undefined> {
    const r = app.stores.amavis.t.msgrcptTable;
    const [row] = await app.stores.amavis.connection.db
      .select({ rs: r.rs })
      .from(r)
      .where(eq(r.mailId, mailId));
    return row?.rs.trim();
  }

  beforeAll(async () => {
    const database = await openEmbeddedDatabase();
    dispose = database.dispose;
    app = await startTestApp(database.env);
    aliceId = await addAccount(app.stores.console, {
      email: ALICE,
      role: 'user',
      password: 'alice-password-1',
    });
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await dispose?.();
  });

  it('confirms, acts once without JavaScript, and refuses a reload or a second POST clearly', async () => {
    const { url, mailId } = await link('request', 'Quarterly <b>report</b>');
    const context = await browser.newContext({
      javaScriptEnabled: false,
      viewport: { width: 800, height: 700 },
    });
    try {
      const page = await context.newPage();
      const shown = await page.goto(url);
      expect(shown?.status()).toBe(200);
      await page.getByRole('heading', { name: 'Ask an administrator to release this message?' }).waitFor();
      // the subject is shown as text, never as markup
      expect(await page.locator('body').textContent()).toContain('Quarterly <b>report</b>');
      expect(await page.locator('b').count()).toBe(0);
      await screenshot(page, 'digest-action-confirm');
      // a GET changed nothing
      expect(await status(mailId)).toBe('');

      // another site's form (Origin null, as from a sandboxed frame) is refused and uses nothing up
      const forged = await page.request.post(url, {
        headers: { origin: 'null', 'sec-fetch-site': 'cross-site' },
      });
      expect(forged.status()).toBe(403);
      const [result] = await Promise.all([
        page.waitForNavigation(),
        page.getByRole('button', { name: 'Request release' }).click(),
      ]);
      expect(result?.status()).toBe(200);
      expect(result?.request().method()).toBe('POST');
      await page.getByRole('heading', { name: 'Release requested' }).waitFor();
      expect(await status(mailId)).toBe('p');
      await screenshot(page, 'digest-action-done');

      // reloading the result (Chromium re-sends the form) or opening the link again: refused, clearly
      const reloaded = await page.reload();
      expect(reloaded?.status()).toBe(410);
      await page.getByRole('heading', { name: 'This link was already used' }).waitFor();
      const reopened = await page.goto(url);
      expect(reopened?.status()).toBe(410);
      await page.getByRole('heading', { name: 'This link was already used' }).waitFor();
      await screenshot(page, 'digest-action-used');
      const reposted = await page.request.post(url, { headers: { origin: app.url } });
      expect(reposted.status()).toBe(410);
      expect(await reposted.text()).toContain('This link was already used');
      expect(await status(mailId)).toBe('p');
      const requests = app.stores.console.t.releaseRequestsTable;
      const made = await app.stores.console.connection.db.select().from(requests);
      expect(made.filter((row) => row.mailId === mailId)).toHaveLength(1);
    } finally {
      await context.close();
    }
  });

  it('the confirmation, result and refusal pages have no serious accessibility problems', async () => {
    const { url } = await link('delete', 'Delete me please');
    const context = await browser.newContext({ bypassCSP: true });
    try {
      const page = await context.newPage();
      await page.goto(url);
      await page.getByRole('heading', { name: 'Delete this message from the quarantine?' }).waitFor();
      expect(await seriousViolations(page)).toEqual([]);
      await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Delete' }).click()]);
      await page.getByRole('heading', { name: 'Deleted' }).waitFor();
      expect(await seriousViolations(page)).toEqual([]);
      await page.goto(url);
      await page.getByRole('heading', { name: 'This link was already used' }).waitFor();
      expect(await seriousViolations(page)).toEqual([]);
      await page.goto(`${app.url}/actions/not-a-token`);
      await page.getByRole('heading', { name: 'This link is not valid' }).waitFor();
      expect(await seriousViolations(page)).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
