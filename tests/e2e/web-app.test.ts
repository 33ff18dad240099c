// The web app in a real Chromium against the real server (embedded PGlite, seeded like amavisd writes):
// each role signs in and sees what it may, filters, opens a (hostile) message, requests a release that an
// admin denies, follows a self-service link, and the layout holds on a phone, in dark mode and in French.
// No test may leave a console error or a failed request behind; axe-core finds nothing serious.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createSuperadmin } from '../../server/features/auth/auth.service.ts';
import {
  launchBrowser,
  openPage,
  type PageOptions,
  screenshot,
  seriousViolations,
  signIn,
  type WatchedPage,
} from '../support/browser.ts';
import { openEmbeddedDatabase } from '../support/databases.ts';
import { addAccount, addMessage, mailIdAndSecret } from '../support/factories.ts';
import { logInAs } from '../support/graphql-client.ts';
import { updateSettingsAs } from '../support/lab-console.ts';
import { hostileMessage } from '../support/message-view.shared.ts';
import { describeWith } from '../support/services.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';

const ROOT = { email: 'root@admin.test', password: 'root-password-1' };
const DOMAIN_ADMIN = { email: 'dadmin@example.test', password: 'dadmin-password-1' };
const ALICE = { email: 'alice@example.test', password: 'alice-password-1' };
const BOB = { email: 'bob@other.test', password: 'bob-password-1' };
const CARL = { email: 'carl@paging.test', password: 'carl-password-1' };

await describeWith(['chromium'], 'the web app in a real browser', () => {
  let browser: Browser;
  let app: TestApp;
  let dispose: () => Promise<void>;
  let tracker: http.Server;
  const trackerHits: string[] = [];
  const selfService = mailIdAndSecret();
  const open: WatchedPage[] = [];

  const now = Math.floor(Date.now() / 1000);
  const raw = (subject: string, body = 'Hello, this is a quarantined message.') =>
    Buffer.from(
      [
        'X-Spam-Status: Yes, score=12.3 tag=-999 tag2=5 kill=6.9 tests=[BAYES_99=3.5,',
        ' URIBL_BLOCKED=0.001] autolearn=no',
        'From: Spammer <spam@bad.test>',
        'To: alice@example.test',
        `Subject: ${subject}`,
        'MIME-Version: 1.0',
        'Content-Type: text/plain; charset=utf-8',
        '',
        body,
        '',
      ].join('\n'),
    );

  async function pageAs(account: { email: string; password: string } | null, options: PageOptions = {}) {
    const watched = await openPage(browser, options);
    open.push(watched);
    if (account) await signIn(watched.page, app.url, account.email, account.password);
    return watched;
  }

  async function rowCount(page: Page) {
    await page
      .getByRole('status')
      .filter({ hasText: /messages/ })
      .first()
      .waitFor();
    return page.locator('table.list tbody tr').count();
  }

  beforeAll(async () => {
    tracker = http.createServer((req, res) => {
      trackerHits.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'image/gif' });
      res.end(Buffer.from('R0lGODlhAQABAAAAACw=', 'base64'));
    });
    await new Promise<void>((resolve) => tracker.listen(0, '127.0.0.1', resolve));
    const trackerUrl = `http://127.0.0.1:${(tracker.address() as AddressInfo).port}`;
    const database = await openEmbeddedDatabase();
    dispose = database.dispose;
    app = await startTestApp(database.env);
    const store = app.stores.console;
    await createSuperadmin(store, ROOT, { onlyIfNoAccounts: false });
    await addAccount(store, { ...DOMAIN_ADMIN, role: 'domainadmin', domains: ['example.test'] });
    await addAccount(store, { ...ALICE, role: 'user' });
    await addAccount(store, { ...BOB, role: 'user' });
    const amavis = app.stores.amavis;
    const alice = [{ email: ALICE.email, score: 12.3 }];
    await addMessage(amavis, {
      timeNum: now - 100,
      subject: 'Cheap watches',
      raw: raw('Cheap watches'),
      recipients: alice,
    });
    await addMessage(amavis, {
      timeNum: now - 200,
      subject: 'Invoice attached',
      raw: raw('Invoice attached'),
      recipients: [{ email: ALICE.email, content: 'V', score: null }],
    });
    await addMessage(amavis, {
      mailId: 'Hst1leWebApp1',
      timeNum: now - 300,
      subject: 'Grüße from quarantine',
      raw: hostileMessage('Hst1leWebApp1', ALICE.email, trackerUrl),
      recipients: alice,
    });
    await addMessage(amavis, {
      timeNum: now - 400,
      subject: 'Please release me',
      raw: raw('Please release me'),
      recipients: alice,
    });
    await addMessage(amavis, {
      timeNum: now - 500,
      subject: 'Delete me',
      raw: raw('Delete me'),
      recipients: alice,
    });
    await addMessage(amavis, {
      timeNum: now - 600,
      subject: 'For Carol',
      raw: raw('For Carol'),
      recipients: [{ email: 'carol@example.test', score: 7 }],
    });
    await addMessage(amavis, {
      timeNum: now - 700,
      subject: "Bob's secret",
      raw: raw("Bob's secret"),
      recipients: [{ email: BOB.email, score: 8 }],
    });
    await addMessage(amavis, {
      ...selfService,
      timeNum: now - 800,
      subject: 'Self-service message',
      raw: raw('Self-service message'),
      recipients: alice,
    });
    await addAccount(store, { ...CARL, role: 'user' });
    for (let i = 1; i <= 25; i += 1) {
      await addMessage(amavis, {
        timeNum: now - 1000 - i,
        subject: `Paging ${String(i).padStart(2, '0')}`,
        recipients: [{ email: CARL.email, score: 6 }],
      });
    }
    const carl = await logInAs(app.url, CARL.email, CARL.password);
    const preferences = await carl.gql(
      'mutation { updateMyPreferences(input: { pageSize: 10 }) { pageSize } }',
    );
    expect(preferences.errors).toBeUndefined();
    await updateSettingsAs(await logInAs(app.url, ROOT.email, ROOT.password), { selfService: true });
    browser = await launchBrowser();
  });

  afterAll(async () => {
    for (const watched of open) await watched.close().catch(() => undefined);
    await browser?.close();
    await app?.close();
    await dispose?.();
    tracker?.close();
  });

  it('a user signs in, sees only their own mail, with badges, and no admin pages', async () => {
    const { page, problems } = await pageAs(ALICE);
    await expect.poll(() => page.url()).toBe(`${app.url}/quarantine`);
    await page.getByRole('heading', { name: 'Quarantine' }).waitFor();
    expect(await rowCount(page)).toBe(6);
    const text = await page.locator('table.list').textContent();
    expect(text).toContain('Cheap watches');
    expect(text).not.toContain("Bob's secret");
    expect(text).not.toContain('For Carol');
    expect(await page.locator('table.list .badge', { hasText: 'Virus' }).count()).toBe(1);
    expect(await page.getByText('Live updates are off').count()).toBe(0);
    expect(await page.locator('table.list .badge', { hasText: 'New' }).count()).toBe(6);
    const nav = page.getByRole('navigation', { name: 'Main' });
    expect(
      await nav.getByRole('link').evaluateAll((links) => links.map((a) => a.getAttribute('href'))),
    ).toEqual([
      '/dashboard',
      '/quarantine',
      '/requests',
      '/policies',
      '/senders',
      '/audit',
      '/tokens',
      '/preferences',
    ]);
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'quarantine-user');
    expect(problems).toEqual([]);
  });

  it('filters, search and sort narrow the list, kept in the URL; the keyboard moves and selects', async () => {
    const { page, problems } = await pageAs(ALICE);
    await rowCount(page);
    await page.getByLabel('Search', { exact: true }).fill('watches');
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => page.url()).toContain('q=watches');
    await expect.poll(() => page.locator('table.list tbody tr').count()).toBe(1);
    await page.getByRole('button', { name: 'Clear' }).click();
    await expect.poll(() => page.locator('table.list tbody tr').count()).toBe(6);

    await page.getByRole('group', { name: 'Types' }).getByLabel('Virus').check();
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => page.locator('table.list tbody tr').count()).toBe(1);
    expect(await page.locator('table.list tbody').textContent()).toContain('Invoice attached');

    await page.goto(`${app.url}/quarantine?sort=subject&dir=asc`);
    await expect.poll(() => page.locator('table.list tbody tr').count()).toBe(6);
    expect(await page.locator('table.list tbody td.subject').first().textContent()).toContain(
      'Cheap watches',
    );
    expect(await page.getByLabel('Sort by').inputValue()).toBe('subject');

    const links = page.locator('table.list a[data-entry]');
    await links.first().focus();
    await page.keyboard.press('j');
    expect(await links.nth(1).evaluate((el) => el === document.activeElement)).toBe(true);
    await page.keyboard.press('x');
    await page.getByText('1 selected').waitFor();
    await page.keyboard.press('k');
    expect(await links.nth(0).evaluate((el) => el === document.activeElement)).toBe(true);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/messages\//);
    await page.getByRole('heading', { name: 'Cheap watches' }).waitFor();
    expect(problems).toEqual([]);
  });

  it('pages through the list by cursor: scrolling loads the next pages, "Load more" when it does not', async () => {
    const { page, problems } = await pageAs(CARL);
    const afters: unknown[] = [];
    page.on('request', (request) => {
      const body = request.postDataJSON() as {
        operationName?: string;
        variables?: { after?: unknown };
      } | null;
      if (body?.operationName === 'Quarantine') afters.push(body.variables?.after ?? null);
    });
    await page.getByText('25 messages').waitFor();
    const rows = page.locator('table.list tbody tr');
    expect(await rows.count()).toBe(10);
    await page.locator('div.more').scrollIntoViewIfNeeded();
    await expect.poll(() => rows.count()).toBe(20);
    // The last page comes from "Load more", or from the scroll sentinel again when page two left it in
    // view (the observer may fire as the button is clicked): either way by cursor, once.
    await page
      .getByRole('button', { name: 'Load more' })
      .click({ timeout: 3000 })
      .catch(() => {});
    await expect.poll(() => rows.count()).toBe(25);
    expect(await page.getByRole('button', { name: 'Load more' }).count()).toBe(0);
    const subjects = await page.locator('table.list td.subject').allTextContents();
    expect(subjects.map((s) => s.trim())).toEqual(
      Array.from({ length: 25 }, (_, i) => `Paging ${String(i + 1).padStart(2, '0')}`),
    );
    // the first page without a cursor (it may have been read before we listened), each further page
    // after the previous page's end cursor
    const cursors = afters.filter((after) => after !== null);
    expect(afters.slice(0, afters.length - cursors.length).every((after) => after === null)).toBe(true);
    expect(cursors).toHaveLength(2);
    expect(cursors.every((after) => typeof after === 'string' && after.length > 0)).toBe(true);
    expect(cursors[0]).not.toBe(cursors[1]);
    expect(problems).toEqual([]);
  });

  it('a hostile HTML message runs no script, cannot move the page, loads nothing remote unless asked', async () => {
    const requests: string[] = [];
    const watched = await pageAs(ALICE, {
      allowFailure: (url) => url.startsWith('https://tracker.example/'),
    });
    const { page, problems } = watched;
    page.on('request', (request) => requests.push(request.url()));
    await page.getByRole('link', { name: 'Grüße from quarantine' }).click();
    await page.getByRole('heading', { name: 'Grüße from quarantine' }).waitFor();
    // the verdict, rule by rule
    const rules = page.getByRole('table', { name: 'SpamAssassin rules that hit' });
    expect(await rules.textContent()).toContain('BAYES_99');
    expect(await page.locator('ul.alerts').textContent()).toContain('BANNED, message contains evil.exe');
    expect(await page.getByRole('link', { name: 'Download (.eml)' }).getAttribute('href')).toMatch(
      /^\/messages\/.+\/raw$/,
    );
    const frameElement = page.locator('iframe');
    const sandbox = (await frameElement.getAttribute('sandbox')) ?? 'missing';
    expect(sandbox.split(/\s+/)).not.toContain('allow-scripts');
    expect(sandbox.split(/\s+/)).not.toContain('allow-same-origin');
    expect(sandbox.split(/\s+/)).not.toContain('allow-top-navigation');
    const frame = await (await frameElement.elementHandle())?.contentFrame();
    await frame?.waitForLoadState('load');
    expect(await frame?.textContent('body')).toContain('Hi Alice');
    await page.waitForTimeout(300);
    expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
    expect(page.url()).toMatch(/\/messages\//);
    expect(await page.title()).toBe('Grüße from quarantine · amavis-console');
    expect(trackerHits).toEqual([]);
    expect(requests.filter((url) => !url.startsWith(app.url))).toEqual([]);
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'message-view');

    expect(problems).toEqual([]);

    // remote images only on request; https://tracker.example has no DNS here, which Chromium reports
    await page.getByRole('button', { name: 'Show remote images' }).click();
    await expect.poll(() => trackerHits.length).toBeGreaterThan(0);
    expect(trackerHits).toEqual(['/pixel.gif']);
    expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
    expect(problems.filter((p) => !p.endsWith('net::ERR_NAME_NOT_RESOLVED'))).toEqual([]);
  });

  it('a user requests a release with per-item results; an admin denies it with a reason', async () => {
    const user = await pageAs(ALICE);
    await rowCount(user.page);
    await user.page.getByRole('checkbox', { name: 'Select “Please release me”' }).check();
    await user.page.getByRole('button', { name: 'Release or request' }).click();
    const results = user.page.getByRole('region', { name: 'Results' });
    await results.getByText('1 done, 0 failed.').waitFor();
    expect(await results.locator('li').first().getAttribute('data-outcome')).toBe('requested');
    const row = user.page.locator('table.list tbody tr', { hasText: 'Please release me' });
    await row.locator('.badge', { hasText: 'Requested' }).waitFor();

    const admin = await pageAs(ROOT);
    // the admin's navigation counts the requests waiting, live
    await admin.page.getByRole('link', { name: 'Release requests 1 pending' }).waitFor();
    await admin.page.getByRole('link', { name: 'Release requests' }).click();
    await admin.page.getByRole('heading', { name: 'Release requests' }).waitFor();
    const request = admin.page.locator('tbody tr', { hasText: 'Please release me' });
    await request.waitFor();
    expect(await seriousViolations(admin.page)).toEqual([]);
    await screenshot(admin.page, 'release-requests');
    await request.getByRole('checkbox').check();
    await admin.page.getByLabel('Reason for denying').fill('Not business mail');
    await admin.page.getByRole('button', { name: 'Deny' }).click();
    const denied = admin.page.getByRole('region', { name: 'Results' });
    await denied.getByText('1 done, 0 failed.').waitFor();
    expect(await denied.locator('li').first().getAttribute('data-outcome')).toBe('denied');
    // the pending queue is empty now
    await admin.page.getByText('No release request.').waitFor();

    await user.page.getByRole('link', { name: 'Release requests' }).click();
    const mine = user.page.locator('tbody tr', { hasText: 'Please release me' });
    await mine.getByText('Denied').waitFor();
    expect(await mine.textContent()).toContain('Not business mail');
    expect(user.problems).toEqual([]);
    expect(admin.problems).toEqual([]);
  });

  it("a user blocks a message's sender for their address from the message view", async () => {
    const { page, problems } = await pageAs(ALICE);
    await page.getByRole('link', { name: 'Invoice attached' }).click();
    await page.getByRole('heading', { name: 'Invoice attached' }).waitFor();
    const senders = page.getByRole('region', { name: 'Sender' });
    await senders
      .getByLabel('Sender and list')
      .selectOption({ label: `sender@example.net for ${ALICE.email}` });
    await senders.getByRole('button', { name: 'Always block' }).click();
    await senders.getByText(`sender@example.net is now always blocked for ${ALICE.email}.`).waitFor();
    const alice = await logInAs(app.url, ALICE.email, ALICE.password);
    const list = await alice.gql<{ senderList: { sender: string; action: string }[] }>(
      'query($owner: String!) { senderList(owner: $owner) { sender action } }',
      { owner: ALICE.email },
    );
    expect(list.data?.senderList).toEqual([{ sender: 'sender@example.net', action: 'block' }]);

    // and finds it in their sender list, where it can go again
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Sender lists' }).click();
    const entries = page.getByRole('table', { name: `Sender list of ${ALICE.email}` });
    await entries.getByText('sender@example.net').waitFor();
    expect(await entries.textContent()).toContain('Always block');
    expect(await seriousViolations(page)).toEqual([]);
    await entries.getByRole('button', { name: 'Delete sender@example.net' }).click();
    await page.getByText('No sender in this list.').waitFor();
    expect(problems).toEqual([]);
  });

  it('deleting from the message view asks first and removes it from the list', async () => {
    const { page, problems } = await pageAs(ALICE);
    await page.getByRole('link', { name: 'Delete me' }).click();
    await page.getByRole('heading', { name: 'Delete me' }).waitFor();
    page.once('dialog', (dialog) => void dialog.accept());
    await page
      .getByRole('toolbar', { name: 'Actions on this message' })
      .getByRole('button', { name: 'Delete' })
      .click();
    const results = page.getByRole('region', { name: 'Results' });
    expect(await results.locator('li').first().getAttribute('data-outcome')).toBe('deleted');
    await page.getByText('This message is no longer in the quarantine').waitFor();
    await page.getByRole('link', { name: /Back to the quarantine/ }).click();
    await rowCount(page);
    expect(await page.locator('table.list').textContent()).not.toContain('Delete me');
    expect(problems).toEqual([]);
  });

  it("a domain admin sees its domain's mail and its users, not other domains", async () => {
    const { page, problems } = await pageAs(DOMAIN_ADMIN);
    await rowCount(page);
    const text = await page.locator('table.list').textContent();
    expect(text).toContain('For Carol');
    expect(text).toContain('Cheap watches');
    expect(text).not.toContain("Bob's secret");
    const nav = page.getByRole('navigation', { name: 'Main' });
    expect(
      await nav.getByRole('link').evaluateAll((links) => links.map((a) => a.getAttribute('href'))),
    ).toEqual([
      '/dashboard',
      '/quarantine',
      '/requests',
      '/policies',
      '/senders',
      '/admin/accounts',
      '/admin/release-rules',
      '/admin/jobs',
      '/audit',
      '/tokens',
      '/preferences',
    ]);
    const listed = Number(
      (
        await page
          .getByRole('status')
          .filter({ hasText: /messages/ })
          .first()
          .textContent()
      )?.match(/\d+/)?.[0],
    );
    await nav.getByRole('link', { name: 'Dashboard' }).click();
    // the dashboard's charts (tests/e2e/web-dashboard.test.ts checks every number against the API)
    const perDay = page.getByRole('table', { name: 'Quarantined per day, by type' });
    await perDay.waitFor();
    const sum = async (table: typeof perDay, cells: string) =>
      (await table.locator(cells).allTextContents()).reduce((total, text) => total + Number(text), 0);
    expect(await sum(perDay, 'tbody td.total')).toBe(listed);
    expect(await sum(page.getByRole('table', { name: 'By type', exact: true }), 'tbody .number')).toBe(
      listed,
    );
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'dashboard');

    await nav.getByRole('link', { name: 'Release rules' }).click();
    expect(await page.getByLabel('Rules for').inputValue()).toBe('example.test');
    await page.getByRole('combobox', { name: 'Banned', exact: true }).selectOption('none');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved.').waitFor();
    const bannedRow = page.locator('tbody tr', { has: page.locator('#rule-banned') });
    expect(await bannedRow.locator('td').last().textContent()).toBe('Neither');
    expect(await seriousViolations(page)).toEqual([]);

    await nav.getByRole('link', { name: 'Accounts' }).click();
    await page.getByRole('heading', { name: 'Accounts' }).waitFor();
    const accounts = page.getByRole('table', { name: 'Accounts' });
    await accounts.locator('strong', { hasText: ALICE.email }).waitFor();
    expect(await accounts.textContent()).not.toContain(BOB.email);
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'accounts');

    // a new user of the domain, then a second address for it
    const create = page.getByRole('form', { name: 'New account' });
    await create.getByLabel('Login (email)').fill('dave@example.test');
    await create.getByLabel('Password (empty: mailbox password)').fill('dave-password-1');
    await create.getByRole('button', { name: 'Create' }).click();
    await page.getByText('Account dave@example.test created.').waitFor();
    await accounts.getByRole('button', { name: 'Edit dave@example.test' }).click();
    const edit = page.getByRole('form', { name: 'Edit dave@example.test' });
    await edit.getByLabel('Other addresses').fill('dave.alias@example.test');
    await edit.getByRole('button', { name: 'Save' }).click();
    await accounts
      .locator('tr', { hasText: 'dave@example.test' })
      .getByText('dave.alias@example.test')
      .waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('a superadmin tests connectivity, changes a setting and finds it in the audit log', async () => {
    const { page, problems } = await pageAs(ROOT);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Test connections' }).click();
    const health = page.getByRole('region', { name: 'Connectivity' });
    // no amavisd or spamd here: each probe answers, and says why it failed
    await health.getByText('SpamAssassin').first().waitFor();
    expect(await health.locator('[data-probe]').count()).toBeGreaterThanOrEqual(2);
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'settings');
    await page.getByLabel('Keep quarantined mail (days)').fill('21');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByText('Saved.').waitFor();

    // users may now change one policy field themselves; it stays so
    const delegation = page.getByRole('region', { name: 'Who may change policies' });
    await delegation.getByLabel('Users may change Quarantine/discard at').check();
    await delegation.getByRole('button', { name: 'Save who may change policies' }).click();
    await delegation.getByText('Saved.').waitFor();
    await page.reload();
    expect(await delegation.getByLabel('Users may change Quarantine/discard at').isChecked()).toBe(true);
    expect(await delegation.getByLabel('Users may change Accepts spam').isChecked()).toBe(false);

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit log' }).click();
    await page.getByLabel('Action starts with').fill('settings.');
    await page.getByRole('button', { name: 'Apply' }).click();
    const log = page.getByRole('table', { name: 'Audit log' });
    await log.getByText('settings.update').first().waitFor();
    expect(await log.textContent()).not.toContain('auth.login');
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'audit-log');

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Jobs' }).click();
    await page.getByRole('button', { name: 'Dry run Cleanup' }).click();
    await page
      .getByRole('status')
      .getByText(/^Cleanup: /)
      .waitFor();
    const runs = page.getByRole('table', { name: 'Background jobs' });
    await runs.locator('tbody tr', { hasText: 'Cleanup' }).first().waitFor();
    expect(await runs.locator('tbody tr').first().textContent()).toContain('Run now · root@admin.test');
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'jobs');

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Domains' }).click();
    await page.getByRole('table', { name: 'Domains' }).getByText('example.test', { exact: true }).waitFor();
    expect(await seriousViolations(page)).toEqual([]);

    const creating = page.getByRole('form', { name: 'New domain' });
    await creating.getByLabel('Domain name').fill('new.test');
    await creating.getByRole('button', { name: 'Create' }).click();
    const row = page.getByRole('table', { name: 'Domains' }).locator('tbody tr', { hasText: 'new.test' });
    await row.getByText('Choose admins').click();
    await row.getByRole('form', { name: 'Admins of new.test' }).getByLabel(DOMAIN_ADMIN.email).check();
    await row.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => row.locator('td').nth(2).textContent()).toContain(DOMAIN_ADMIN.email);
    expect(await seriousViolations(page)).toEqual([]);
    await row.getByLabel('Add an alias to new.test').fill('alias-of-new.test');
    await row.getByRole('button', { name: 'Add alias' }).click();
    await row.getByRole('button', { name: 'Remove the alias alias-of-new.test' }).waitFor();
    await screenshot(page, 'domains');
    await row.getByRole('button', { name: 'Remove the alias alias-of-new.test' }).click();
    await expect
      .poll(() => row.getByRole('button', { name: 'Remove the alias alias-of-new.test' }).count())
      .toBe(0);
    expect(problems).toEqual([]);
  });

  it('a superadmin edits the global policy; an address shows where each value comes from', async () => {
    const { page, problems } = await pageAs(ROOT);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Policies' }).click();
    await page.getByRole('heading', { name: 'Policies' }).waitFor();
    expect(await page.getByLabel('Policy of').inputValue()).toBe('@.');
    const kill = page.locator('tr', { hasText: 'Quarantine/discard at' });
    await kill.getByRole('combobox').selectOption('value');
    await kill.getByLabel('Value of Quarantine/discard at').fill('8.5');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved.').waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'policies');

    await page.getByLabel('Policy of').fill(ALICE.email);
    await page.getByRole('button', { name: 'Show' }).click();
    await page.getByRole('heading', { name: 'How amavisd finds the policy' }).waitFor();
    const effective = page.locator('tr', { hasText: 'Quarantine/discard at' }).locator('td').last();
    await expect.poll(() => effective.textContent()).toContain('from @.');
    expect(await effective.textContent()).toContain('8.5');

    // alice's own value wins over the global one, until her own policy goes
    const own = page.locator('tr', { hasText: 'Quarantine/discard at' });
    await own.getByRole('combobox').selectOption('value');
    await own.getByLabel('Value of Quarantine/discard at').fill('9');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await expect.poll(() => effective.textContent()).toContain(`from ${ALICE.email}`);
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Remove this address’s own policy' }).click();
    await expect.poll(() => effective.textContent()).toContain('from @.');
    expect(problems).toEqual([]);
  });

  it("amavisd's notification link opens its one message without an account", async () => {
    const { page, problems } = await pageAs(null);
    const link = `${app.url}/quarantine/${selfService.mailId}/?rcpt=${encodeURIComponent(ALICE.email)}&secret_id=${selfService.secretId}`;
    await page.goto(link);
    await page.getByRole('heading', { name: 'Self-service message' }).waitFor();
    expect(page.url()).toBe(`${app.url}/quarantine/${selfService.mailId}`);
    expect(await page.getByRole('navigation', { name: 'Main' }).count()).toBe(0);
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'self-service');
    await page.getByRole('button', { name: 'Release or request' }).click();
    const results = page.getByRole('region', { name: 'Results' });
    expect(await results.locator('li').first().getAttribute('data-outcome')).toBe('requested');
    expect(problems).toEqual([]);

    const wrong = await pageAs(null);
    await wrong.page.goto(
      `${app.url}/quarantine/${selfService.mailId}/?rcpt=${encodeURIComponent(ALICE.email)}&secret_id=AAAAAAAAAAAA`,
    );
    await wrong.page.getByRole('alert').getByText('This link is not valid').waitFor();
    expect(wrong.problems).toEqual([]);
  });

  it('an ended session sends the user to sign in, saying why, and back after', async () => {
    const { page, context, problems } = await pageAs(ALICE);
    await rowCount(page);
    await context.clearCookies();
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/\/login\?/);
    await page.getByText('Your session has ended. Please sign in again.').waitFor();
    await page.getByLabel('Email address').fill(ALICE.email);
    await page.getByLabel('Password').fill(ALICE.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${app.url}/quarantine`);
    await rowCount(page);
    expect(problems).toEqual([]);
  });

  it('holds on a 360 px phone, in dark mode', async () => {
    const { page, problems } = await pageAs(ALICE, {
      viewport: { width: 360, height: 740 },
      colorScheme: 'dark',
    });
    await rowCount(page);
    const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(await overflow()).toBeLessThanOrEqual(0);
    const nav = page.getByRole('navigation', { name: 'Main' });
    expect(await nav.isVisible()).toBe(false);
    await page.getByRole('button', { name: 'Menu' }).click();
    expect(await nav.isVisible()).toBe(true);
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'phone-quarantine');
    await page.getByRole('button', { name: 'Menu' }).click();
    await page.getByRole('link', { name: 'Cheap watches' }).click();
    await page.getByRole('heading', { name: 'Cheap watches' }).waitFor();
    expect(await overflow()).toBeLessThanOrEqual(0);
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'phone-message');
    expect(problems).toEqual([]);
  });

  it('speaks French to a French browser, and switches language on request', async () => {
    const { page, problems } = await pageAs(null, { locale: 'fr-FR' });
    await page.goto(`${app.url}/login`);
    await page.getByRole('heading', { name: 'Connexion' }).waitFor();
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('fr');
    await page.getByLabel('Adresse électronique').fill(ALICE.email);
    await page.getByLabel('Mot de passe').fill(ALICE.password);
    await page.getByRole('button', { name: 'Se connecter' }).click();
    await page.getByRole('heading', { name: 'Quarantaine' }).waitFor();
    await page.getByRole('columnheader', { name: 'Objet' }).waitFor();
    expect(await page.getByRole('button', { name: 'Libérer ou demander' }).count()).toBe(1);
    await page.getByLabel('Langue').selectOption('en');
    await page.getByRole('heading', { name: 'Quarantine' }).waitFor();
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('en');
    expect(problems).toEqual([]);
  });

  it('a user creates an API token, sees its secret once, and the token works until revoked', async () => {
    const { page, problems } = await pageAs(BOB);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'API tokens' }).click();
    await page.getByLabel('What it is for').fill('backup script');
    await page.getByRole('button', { name: 'Create' }).click();
    const secret = (await page.locator('code.secret').textContent())?.trim() ?? '';
    expect(secret.length).toBeGreaterThan(20);
    const tokens = page.getByRole('table', { name: 'API tokens' });
    await tokens.getByText('backup script').waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    const viewer = () =>
      fetch(`${app.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}` },
        body: JSON.stringify({ query: '{ viewer { email } }' }),
      }).then((r) => r.json() as Promise<{ data?: { viewer: { email: string | null } } }>);
    expect((await viewer()).data?.viewer.email).toBe(BOB.email);
    await tokens.getByRole('button', { name: 'Revoke backup script' }).click();
    await tokens.getByText('Revoked').waitFor();
    expect((await viewer()).data?.viewer.email ?? null).toBeNull();
    expect(problems).toEqual([]);
  });

  it('preferences follow the account: language and time zone, in any browser', async () => {
    const { page, problems } = await pageAs(BOB);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Preferences' }).click();
    await page.getByRole('heading', { name: 'Preferences' }).waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    await page.getByRole('main').getByLabel('Language').selectOption('fr');
    await page.getByLabel('Time zone').fill('Asia/Tokyo');
    await page.getByLabel('Send me a digest').check();
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('heading', { name: 'Préférences' }).waitFor();
    expect(problems).toEqual([]);

    const elsewhere = await pageAs(BOB, { locale: 'en-US' });
    await elsewhere.page.getByRole('heading', { name: 'Quarantaine' }).waitFor();
    const received = await elsewhere.page.locator('table.list tbody tr td').nth(3).textContent();
    // the mail came 700 s ago; shown in Tokyo time (UTC+9)
    const tokyo = new Intl.DateTimeFormat('fr', {
      dateStyle: 'medium',
      timeStyle: 'short',
      timeZone: 'Asia/Tokyo',
    }).format(new Date((now - 700) * 1000));
    expect(received?.trim()).toBe(tokyo);
    expect(elsewhere.problems).toEqual([]);

    // the password, in French now
    await page.getByLabel('Mot de passe actuel').fill('not-the-password');
    await page.getByLabel('Nouveau mot de passe').fill('bob-password-2');
    await page.getByRole('button', { name: 'Changer le mot de passe' }).click();
    await page.getByText('Le mot de passe actuel est incorrect.').waitFor();
    await page.getByLabel('Mot de passe actuel').fill(BOB.password);
    await page.getByRole('button', { name: 'Changer le mot de passe' }).click();
    await page.getByText('Mot de passe changé').waitFor();
    await logInAs(app.url, BOB.email, 'bob-password-2');
    expect(problems).toEqual([]);
  });
});
