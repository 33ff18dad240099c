// The dashboard in a real Chromium, for each role: every number the charts show (read from their data
// tables, which is what screen readers get) equals what the API says for the same range, and the total
// equals what the quarantine list shows the same person. It holds on a phone in dark mode and in French.
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
import { addAccount, addMessage } from '../support/factories.ts';
import { logInAs } from '../support/graphql-client.ts';
import { describeWith } from '../support/services.ts';
import { startTestApp, type TestApp } from '../support/test-app.ts';

const ROOT = { email: 'root@admin.test', password: 'root-password-1' };
const ADMIN = { email: 'dadmin@example.test', password: 'dadmin-password-1' };
const ALICE = { email: 'alice@example.test', password: 'alice-password-1' };
const BOB = { email: 'bob@other.test', password: 'bob-password-1' };

interface Stats {
  total: number;
  released: number;
  pendingEntries: number;
  days: { day: string; total: number; byKind: { kind: string; count: number }[] }[];
  byKind: { kind: string; count: number }[];
  topSenders: { sender: string; count: number }[];
  topRecipientDomains: { domain: string; count: number }[];
  scores: { count: number }[];
  requests: { pending: number; approved: number; denied: number };
}

const STATS = `query($from: DateTime!, $to: DateTime!, $offset: Int!) {
  quarantineStats(from: $from, to: $to, utcOffsetMinutes: $offset) {
    total released pendingEntries
    days { day total byKind { kind count } }
    byKind { kind count }
    topSenders { sender count }
    topRecipientDomains { domain count }
    scores { count }
    requests { pending approved denied }
  }
  quarantine(first: 1, filter: { receivedFrom: $from, receivedBefore: $to }) { totalCount { value } }
}`;

const KIND_LABELS: Record<string, string> = {
  spam: 'Spam',
  spammy: 'Spammy',
  virus: 'Virus',
  banned: 'Banned',
};

const number = (text: string | null) => Number((text ?? '').replace(/[^\d]/g, ''));

await describeWith(['chromium'], 'the dashboard in a real browser', () => {
  let browser: Browser;
  let app: TestApp;
  let dispose: () => Promise<void>;
  const open: WatchedPage[] = [];
  const now = Math.floor(Date.now() / 1000);

  async function pageAs(account: { email: string; password: string }, options: PageOptions = {}) {
    const watched = await openPage(browser, options);
    open.push(watched);
    await signIn(watched.page, app.url, account.email, account.password);
    return watched;
  }

  /** The range the page asked for, once its numbers are on screen. */
  async function shownRange(
    page: Page,
    previous = '',
  ): Promise<{ from: string; to: string; offset: number }> {
    const cards = page.locator('.cards[data-range]');
    await cards.waitFor();
    await page.waitForFunction((before) => {
      const range = document.querySelector('.cards')?.getAttribute('data-range');
      return Boolean(range) && range !== before;
    }, previous);
    const [from = '', to = ''] = ((await cards.getAttribute('data-range')) ?? '').split('/');
    const offset = await page.evaluate((iso) => -new Date(iso).getTimezoneOffset(), from);
    return { from, to, offset };
  }

  async function tableRows(page: Page, name: string) {
    const table = page.getByRole('table', { name, exact: true });
    return table.locator('tbody tr').evaluateAll((rows) =>
      rows.map((row) => ({
        label: row.querySelector('th')?.textContent?.trim() ?? '',
        cells: [...row.querySelectorAll('.number')].map((td) => td.textContent ?? ''),
        total: row.querySelector('td.total')?.textContent ?? '',
      })),
    );
  }

  async function checkAgainstApi(
    page: Page,
    account: { email: string; password: string },
    previous = '',
  ): Promise<Stats> {
    const range = await shownRange(page, previous);
    const client = await logInAs(app.url, account.email, account.password);
    const response = await client.gql<{
      quarantineStats: Stats;
      quarantine: { totalCount: { value: number } };
    }>(STATS, range);
    expect(response.errors).toBeUndefined();
    const api = response.data?.quarantineStats as Stats;
    expect(api.total).toBe(response.data?.quarantine.totalCount.value);
    expect(api.total).toBeGreaterThan(0);

    const card = (stat: string) => page.locator(`[data-stat="${stat}"] .value`).textContent();
    expect(number(await card('total'))).toBe(api.total);
    expect(number(await card('released'))).toBe(api.released);
    expect(number(await card('pending'))).toBe(api.pendingEntries);
    const dd = (stat: string) => page.locator(`dd[data-stat="${stat}"]`).textContent();
    expect(number(await dd('requests-pending'))).toBe(api.requests.pending);
    expect(number(await dd('requests-approved'))).toBe(api.requests.approved);
    expect(number(await dd('requests-denied'))).toBe(api.requests.denied);

    const perDay = await tableRows(page, 'Quarantined per day, by type');
    expect(perDay.map((row) => number(row.total))).toEqual(api.days.map((d) => d.total));
    const kindCount = (d: Stats['days'][number], kinds: string[]) =>
      d.byKind.filter((k) => kinds.includes(k.kind)).reduce((sum, k) => sum + k.count, 0);
    // the series: spam (spam and spammy), virus, banned, other
    expect(perDay.map((row) => row.cells.slice(0, 3).map(number))).toEqual(
      api.days.map((d) => [
        kindCount(d, ['spam', 'spammy']),
        kindCount(d, ['virus']),
        kindCount(d, ['banned']),
      ]),
    );
    expect(perDay.reduce((sum, row) => sum + number(row.total), 0)).toBe(api.total);

    const byType = await tableRows(page, 'By type');
    expect(byType.map((row) => [row.label, number(row.cells[0] ?? '')])).toEqual(
      api.byKind.map((k) => [KIND_LABELS[k.kind] ?? k.kind, k.count]),
    );
    const senders = await tableRows(page, 'Top senders');
    expect(senders.map((row) => [row.label, number(row.cells[0] ?? '')])).toEqual(
      api.topSenders.map((s) => [s.sender || '<>', s.count]),
    );
    const domains = await tableRows(page, 'Top recipient domains');
    expect(domains.map((row) => [row.label, number(row.cells[0] ?? '')])).toEqual(
      api.topRecipientDomains.map((d) => [d.domain, d.count]),
    );
    const scores = await tableRows(page, 'Spam scores');
    expect(scores.map((row) => number(row.total))).toEqual(api.scores.map((b) => b.count));
    return api;
  }

  /** What the quarantine list says it holds for the same person (every seeded entry is recent). */
  async function listed(page: Page): Promise<number> {
    await page.goto(`${app.url}/quarantine`);
    const status = page
      .getByRole('status')
      .filter({ hasText: /messages/ })
      .first();
    await status.waitFor();
    return number((await status.textContent())?.match(/[\d,]+/)?.[0] ?? '');
  }

  beforeAll(async () => {
    const database = await openEmbeddedDatabase();
    dispose = database.dispose;
    app = await startTestApp(database.env);
    const store = app.stores.console;
    await createSuperadmin(store, ROOT, { onlyIfNoAccounts: false });
    await addAccount(store, { ...ADMIN, role: 'domainadmin', domains: ['example.test'] });
    const alice = await addAccount(store, { ...ALICE, role: 'user' });
    await addAccount(store, { ...BOB, role: 'user' });
    const amavis = app.stores.amavis;
    const day = 86_400;
    const seeds: [number, string, string, string, number | null, string][] = [
      // [age in seconds, recipient, content, sender, score, rs]
      [600, ALICE.email, 'S', 'spam@bad.test', 14, ' '],
      [1200, ALICE.email, 'V', 'virus@bad.test', null, ' '],
      [day + 300, ALICE.email, 'S', 'spam@bad.test', 9, 'R'],
      [day + 900, ALICE.email, 'B', 'files@odd.test', 2, 'p'],
      [2 * day + 60, 'carol@example.test', 'Y', 'spam@bad.test', 6.5, ' '],
      [3 * day + 60, 'carol@example.test', 'S', 'bulk@list.test', 31, ' '],
      [4 * day + 60, BOB.email, 'S', 'spam@bad.test', 22, ' '],
      [5 * day + 60, BOB.email, 'V', 'virus@bad.test', null, 'R'],
      [6 * day + 60, 'dan@sub.other.test', 'Y', 'bulk@list.test', -0.5, ' '],
      [12 * day, ALICE.email, 'S', 'old@bad.test', 17, ' '],
    ];
    for (const [age, email, content, sender, score, rs] of seeds) {
      await addMessage(amavis, { timeNum: now - age, sender, recipients: [{ email, content, score, rs }] });
    }
    const requests = store.t.releaseRequestsTable;
    const request = (status: string, pendingKey: string | null) => ({
      partitionTag: 0,
      mailId: 'seeded',
      rseqnum: 1,
      recipient: ALICE.email,
      recipientDomain: 'example.test',
      status,
      pendingKey,
      requestedByAccountId: alice,
      requestedBy: ALICE.email,
      notifyAddress: ALICE.email,
    });
    await store.connection.db
      .insert(requests)
      .values([request('pending', '0:seeded:1'), request('approved', null), request('denied', null)]);
    browser = await launchBrowser();
  });

  afterAll(async () => {
    for (const watched of open) await watched.close().catch(() => undefined);
    await browser?.close();
    await app?.close();
    await dispose?.();
  });

  for (const [role, account, expected] of [
    ['a superadmin', ROOT, 10],
    ['a domain admin', ADMIN, 7],
    ['a user', ALICE, 5],
    ['another user', BOB, 2],
  ] as const) {
    it(`${role}: the charts show the API's numbers and the list's total`, async () => {
      const { page, problems } = await pageAs(account);
      await page.goto(`${app.url}/dashboard`);
      const api = await checkAgainstApi(page, account);
      expect(api.total).toBe(expected);
      expect(await seriousViolations(page)).toEqual([]);
      await screenshot(page, `dashboard-${account.email.split('@')[0]}`);
      expect(await listed(page)).toBe(api.total);
      expect(problems).toEqual([]);
    });
  }

  it('a shorter period asks the API again and shows its numbers', async () => {
    const { page, problems } = await pageAs(ROOT);
    await page.goto(`${app.url}/dashboard`);
    const thirty = await checkAgainstApi(page, ROOT);
    const before = (await page.locator('.cards').getAttribute('data-range')) ?? '';
    await page.getByLabel('Period').selectOption({ label: 'Last 7 days' });
    const seven = await checkAgainstApi(page, ROOT, before);
    expect(seven.days.length).toBe(7);
    expect(seven.total).toBeLessThan(thirty.total);
    expect(problems).toEqual([]);
  });

  it('holds on a 360 px phone in dark mode, and speaks French', async () => {
    const phone = await pageAs(ADMIN, { viewport: { width: 360, height: 740 }, colorScheme: 'dark' });
    await phone.page.goto(`${app.url}/dashboard`);
    await checkAgainstApi(phone.page, ADMIN);
    const overflow = await phone.page.evaluate(() => document.documentElement.scrollWidth);
    expect(overflow).toBeLessThanOrEqual(360);
    expect(await seriousViolations(phone.page)).toEqual([]);
    await screenshot(phone.page, 'dashboard-phone-dark');
    expect(phone.problems).toEqual([]);

    const french = await openPage(browser, { locale: 'fr-FR' });
    open.push(french);
    await french.page.goto(`${app.url}/login`);
    await french.page.getByLabel('Adresse électronique').fill(ALICE.email);
    await french.page.getByLabel('Mot de passe').fill(ALICE.password);
    await french.page.getByRole('button', { name: 'Se connecter' }).click();
    await french.page.waitForURL((url) => url.pathname !== '/login');
    await french.page.goto(`${app.url}/dashboard`);
    await french.page.getByRole('heading', { name: 'Tableau de bord' }).waitFor();
    await french.page.getByRole('table', { name: 'Mis en quarantaine par jour, par type' }).waitFor();
    await french.page.getByRole('table', { name: 'Principaux expéditeurs' }).waitFor();
    expect(await seriousViolations(french.page)).toEqual([]);
    await screenshot(french.page, 'dashboard-fr');
    expect(french.problems).toEqual([]);
  });
});
