// Jobs on the embedded database (the run records, leases, GraphQL and action pages of the shared suite),
// and the pure parts: digest times across time zones and daylight saving, cron checks, mail escaping.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.ts';
import { isCronExpression, nextRun } from '../../server/features/jobs/job-schedule.ts';
import { breeLogger } from '../../server/features/jobs/scheduler.ts';
import { nextDigestAt } from '../../server/features/preferences/digest-schedule.ts';
import { createLogger } from '../../server/log.ts';
import { escapeHtml, plainLine } from '../../server/mail/mail-templates.ts';
import { openEmbeddedDatabase } from '../support/databases.ts';
import { jobsSuite } from '../support/jobs.shared.ts';

describe('background jobs, run records and one-click actions, on the embedded database', () => {
  // one process only: PGlite cannot be shared with a second process
  jobsSuite(openEmbeddedDatabase, { processes: false });
});

describe('digest times', () => {
  const at = (iso: string) => new Date(iso);

  it('is the chosen local time, later today or tomorrow', () => {
    const timing = { frequency: 'daily' as const, minute: 8 * 60, weekday: null, timeZone: 'Europe/Paris' };
    expect(nextDigestAt(timing, at('2026-06-10T05:59:00Z')).toISOString()).toBe('2026-06-10T06:00:00.000Z');
    expect(nextDigestAt(timing, at('2026-06-10T06:00:00Z')).toISOString()).toBe('2026-06-11T06:00:00.000Z');
    // winter: UTC+1
    expect(nextDigestAt(timing, at('2026-01-10T12:00:00Z')).toISOString()).toBe('2026-01-11T07:00:00.000Z');
  });

  it('follows daylight saving changes, and moves a skipped local time forward', () => {
    const timing = {
      frequency: 'daily' as const,
      minute: 2 * 60 + 30,
      weekday: null,
      timeZone: 'Europe/Paris',
    };
    // 2026-03-29 02:30 does not exist in Paris (clocks jump from 02:00 to 03:00)
    const skipped = nextDigestAt(timing, at('2026-03-28T12:00:00Z'));
    expect(skipped.toISOString()).toBe('2026-03-29T01:30:00.000Z');
    const after = nextDigestAt(timing, skipped);
    expect(after.toISOString()).toBe('2026-03-30T00:30:00.000Z');
  });

  it('skips weekends for weekday digests and waits for the weekday of weekly ones', () => {
    const weekdays = { frequency: 'weekdays' as const, minute: 9 * 60, weekday: null, timeZone: 'UTC' };
    // Friday 2026-11-27 10:00 UTC → Monday 2026-11-30 09:00
    expect(nextDigestAt(weekdays, at('2026-11-27T10:00:00Z')).toISOString()).toBe('2026-11-30T09:00:00.000Z');
    const weekly = { frequency: 'weekly' as const, minute: 0, weekday: 3, timeZone: 'Asia/Tokyo' };
    // Wednesday 00:00 in Tokyo is Tuesday 15:00 UTC
    expect(nextDigestAt(weekly, at('2026-11-25T00:00:00Z')).toISOString()).toBe('2026-12-01T15:00:00.000Z');
  });
});

describe('job schedules', () => {
  it('accepts five-field cron expressions with values in range, and nothing else', () => {
    for (const good of ['*/5 * * * *', '30 3 * * *', '0 8 * * 1-5', '0 0 1,15 * *', '0 12 * * 7'])
      expect(isCronExpression(good)).toBe(true);
    for (const bad of [
      '',
      '* * * *',
      '61 * * * *',
      '* 24 * * *',
      '* * 0 * *',
      'a b c d e',
      '*/0 * * * *',
      '5-1 * * * *',
    ])
      expect(isCronExpression(bad)).toBe(false);
    expect(nextRun('nonsense')).toBeNull();
  });

  it('tells when a schedule fires next', () => {
    const next = nextRun('*/5 * * * *', new Date()) as Date;
    expect(next.getTime()).toBeGreaterThan(Date.now());
    expect(next.getTime()).toBeLessThanOrEqual(Date.now() + 5 * 60_000);
    expect(next.getMinutes() % 5).toBe(0);
    expect(next.getSeconds()).toBe(0);
  });
});

describe('the scheduler', () => {
  it("treats Bree's refusal to start a job whose worker still runs as an overlap to record", () => {
    const overlaps: string[] = [];
    const lines: string[] = [];
    const log = createLogger('debug', { write: (line: string) => lines.push(line) });
    const logger = breeLogger(log, (job) => overlaps.push(job));
    // Bree's own words (bree/src/index.js run())
    logger.warn(new Error('Job "digests" is already running'), undefined);
    logger.warn(new Error('Job "not-a-job" is already running'));
    logger.warn('something else');
    expect(overlaps).toEqual(['digests']);
    expect(lines.filter((l) => l.includes('"level":40'))).toHaveLength(2);
  });
});

describe('mail templates', () => {
  it('escapes HTML and flattens hostile text to one line', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    expect(plainLine('Subject\r\nBcc: victim@example.com\u202eevil\u0000')).toBe(
      'Subject  Bcc: victim@example.com evil',
    );
    expect(plainLine('x'.repeat(300))).toHaveLength(200);
  });
});

describe('job settings in the environment', () => {
  it('reads PUBLIC_URL without its trailing slash, refuses other schemes, and JOBS on by default', () => {
    expect(loadConfig({ PUBLIC_URL: 'https://quarantine.example.com/console/' }).publicUrl).toBe(
      'https://quarantine.example.com/console',
    );
    expect(loadConfig({}).publicUrl).toBeNull();
    expect(() => loadConfig({ PUBLIC_URL: 'ftp://example.com' })).toThrow(/PUBLIC_URL/);
    expect(() => loadConfig({ PUBLIC_URL: 'quarantine.example.com' })).toThrow(/PUBLIC_URL/);
    expect(loadConfig({}).jobs).toBe(true);
    expect(loadConfig({ JOBS: 'off' }).jobs).toBe(false);
    expect(() => loadConfig({ JOBS: 'sometimes' })).toThrow(/JOBS/);
  });
});
