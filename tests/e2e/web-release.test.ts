// Releasing from the web app through real amavisd-new (the lab, on PostgreSQL): a user asks for the release
// of a GTUBE mail amavisd quarantined, an admin approves it in the browser and the copy reaches the SMTP
// sink; an admin releases another one straight from the list. No console errors, no failed requests.
import { randomBytes } from 'node:crypto';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { lab, quarantineGtube, waitForCopies } from '../support/amavis-lab.ts';
import {
  launchBrowser,
  openPage,
  screenshot,
  seriousViolations,
  signIn,
  type WatchedPage,
} from '../support/browser.ts';
import { addAccount } from '../support/factories.ts';
import { LAB_ROOT, type LabConsole, startLabConsole, updateSettingsAs } from '../support/lab-console.ts';
import { describeWith } from '../support/services.ts';

await describeWith(
  ['chromium', 'amavisd', 'postgresql'],
  'releasing from the web app through amavisd-new',
  () => {
    let browser: Browser;
    let labConsole: LabConsole;
    const open: WatchedPage[] = [];
    // The lab's quarantine is shared by every test file: this file's user and mail are its own.
    const user = {
      email: `web-${randomBytes(4).toString('hex')}@example.test`,
      password: 'web-user-password-1',
    };

    const pageAs = async (account: { email: string; password: string }) => {
      const watched = await openPage(browser);
      open.push(watched);
      await signIn(watched.page, labConsole.app.url, account.email, account.password);
      return watched;
    };

    beforeAll(async () => {
      labConsole = await startLabConsole('pg', {
        SMTP_URL: `smtp://${lab.AMAVIS_LAB_SINK ?? '127.0.0.1:10025'}`,
        // the first live subscription starts detection; amavisd's writes are polled this often
        LIVE_POLL_INTERVAL_MS: '500',
      });
      const [host, port] = (lab.AMAVIS_LAB_PG_PDP ?? '').split(':');
      await updateSettingsAs(labConsole.root, {
        amPdpMode: 'inet',
        amPdpHost: host,
        amPdpPort: Number(port),
      });
      await addAccount(labConsole.app.stores.console, { ...user, role: 'user' });
      browser = await launchBrowser();
    });

    afterAll(async () => {
      for (const watched of open) await watched.close().catch(() => undefined);
      await browser?.close();
      await labConsole?.close();
    });

    it('mail amavisd quarantines appears live in an open list, behind a discreet "new" marker', async () => {
      const watched = await openPage(browser);
      open.push(watched);
      const { page, problems } = watched;
      const subscribed = new Promise<void>((resolve) => {
        page.on('websocket', (socket) =>
          socket.on('framesent', (frame) => {
            if (String(frame.payload).includes('subscription QuarantineEvents')) resolve();
          }),
        );
      });
      await signIn(page, labConsole.app.url, user.email, user.password);
      await page.getByRole('heading', { name: 'Quarantine' }).waitFor();
      await page
        .getByRole('status')
        .filter({ hasText: /messages/ })
        .first()
        .waitFor();
      const before = await page.locator('table.list tbody tr').count();
      // the server registers the subscriber right after the subscribe message (one rights lookup)
      await subscribed;
      await page.waitForTimeout(1500);
      const quarantined = await quarantineGtube('PG', labConsole.app.stores.amavis, {
        recipients: [user.email],
        label: 'web live',
      });
      const marker = page.getByRole('button', { name: '1 new — show' });
      await marker.waitFor({ timeout: 20_000 });
      // no jumping rows: the list stays as it was until asked
      expect(await page.locator('table.list tbody tr').count()).toBe(before);
      await marker.click();
      await page.getByRole('link', { name: `web live PG ${quarantined.tag}` }).waitFor();
      expect(await page.locator('table.list tbody tr').count()).toBe(before + 1);
      expect(await marker.count()).toBe(0);
      expect(await page.getByText('Live updates are off').count()).toBe(0);
      expect(problems).toEqual([]);
    });

    it('a user requests a release, an admin approves it, and amavisd delivers the mail', async () => {
      const quarantined = await quarantineGtube('PG', labConsole.app.stores.amavis, {
        recipients: [user.email],
        label: 'web request',
      });
      const subject = `web request PG ${quarantined.tag}`;
      const asUser = await pageAs(user);
      await asUser.page.getByRole('link', { name: subject }).click();
      await asUser.page.getByRole('heading', { name: subject }).waitFor();
      await asUser.page.getByRole('button', { name: 'Release or request' }).click();
      const requested = asUser.page.getByRole('region', { name: 'Results' });
      await requested.locator('li[data-outcome]').first().waitFor();
      expect(await requested.locator('li').first().getAttribute('data-outcome')).toBe('requested');

      const admin = await pageAs(LAB_ROOT);
      await admin.page.goto(`${labConsole.app.url}/requests`);
      const row = admin.page.locator('tbody tr', { hasText: subject });
      await row.getByRole('checkbox').check();
      await admin.page.getByRole('button', { name: 'Approve' }).click();
      const approved = admin.page.getByRole('region', { name: 'Results' });
      await approved.locator('li[data-outcome]').first().waitFor();
      expect(await approved.locator('li').first().getAttribute('data-outcome')).toBe('released');
      expect(await waitForCopies(quarantined.mailId, 1)).toHaveLength(1);

      await asUser.page.reload();
      await asUser.page.getByRole('heading', { name: subject }).waitFor();
      await asUser.page.locator('.badge', { hasText: 'Released' }).first().waitFor();
      expect(asUser.problems).toEqual([]);
      expect(admin.problems).toEqual([]);
    });

    it("an admin releases from the list, with the per-item result; the user's open list follows", async () => {
      const quarantined = await quarantineGtube('PG', labConsole.app.stores.amavis, {
        recipients: [user.email],
        label: 'web admin release',
      });
      const subject = `web admin release PG ${quarantined.tag}`;
      const mine = await openPage(browser);
      open.push(mine);
      const subscribed = new Promise<void>((resolve) => {
        mine.page.on('websocket', (socket) =>
          socket.on('framesent', (frame) => {
            if (String(frame.payload).includes('subscription QuarantineEvents')) resolve();
          }),
        );
      });
      await signIn(mine.page, labConsole.app.url, user.email, user.password);
      const userRow = mine.page.locator('table.list tbody tr', { hasText: subject });
      await userRow.locator('.badge', { hasText: 'New' }).waitFor();
      await subscribed;
      await mine.page.waitForTimeout(1500);

      const { page, problems } = await pageAs(LAB_ROOT);
      await page.getByLabel('Search', { exact: true }).fill(quarantined.tag);
      await page.getByRole('button', { name: 'Apply' }).click();
      await expect.poll(() => page.locator('table.list tbody tr').count()).toBe(1);
      await page.getByRole('checkbox', { name: /^Select “web admin release/ }).check();
      await page
        .getByRole('toolbar', { name: 'Actions on the selected messages' })
        .getByRole('button', { name: 'Release' })
        .click();
      const results = page.getByRole('region', { name: 'Results' });
      await results.locator('li[data-outcome]').first().waitFor();
      expect(await results.locator('li').first().getAttribute('data-outcome')).toBe('released');
      await page.locator('table.list .badge', { hasText: 'Released' }).waitFor();
      expect(await waitForCopies(quarantined.mailId, 1)).toHaveLength(1);
      // the user's list shows the release without a reload
      await userRow.locator('.badge', { hasText: 'Released' }).waitFor({ timeout: 20_000 });
      expect(mine.problems).toEqual([]);
      expect(await seriousViolations(page)).toEqual([]);
      await screenshot(page, 'admin-release');
      expect(problems).toEqual([]);
    });

    it('an admin releases a copy to another address from the message view; the recipient keeps theirs', async () => {
      const quarantined = await quarantineGtube('PG', labConsole.app.stores.amavis, {
        recipients: [user.email],
        label: 'web release to',
      });
      const { page, problems } = await pageAs(LAB_ROOT);
      await page.getByLabel('Search', { exact: true }).fill(quarantined.tag);
      await page.getByRole('button', { name: 'Apply' }).click();
      await page.getByRole('link', { name: `web release to PG ${quarantined.tag}` }).click();
      const form = page.getByRole('form', { name: 'Release to other addresses (comma-separated)' });
      await form.getByRole('textbox').fill(`helpdesk-${quarantined.tag}@example.test`);
      await form.getByRole('button', { name: 'Release to them' }).click();
      const results = page.getByRole('region', { name: 'Results' });
      await results.locator('li[data-outcome]').first().waitFor();
      expect(await results.locator('li').first().getAttribute('data-outcome')).toBe('released');
      const [copy] = await waitForCopies(quarantined.mailId, 1);
      expect(copy?.envelope.rcpt_tos).toEqual([`helpdesk-${quarantined.tag}@example.test`]);
      expect(await page.locator('.badges .badge', { hasText: 'New' }).count()).toBe(1);
      expect(problems).toEqual([]);
    });
  },
);
