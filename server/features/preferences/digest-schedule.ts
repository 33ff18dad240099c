// When a person's next digest is due: their time of day in their own time zone (IANA), on every day,
// on weekdays, or on one weekday. Computed with Intl only, so daylight-saving changes land right.

export const DIGEST_FREQUENCIES = ['daily', 'weekdays', 'weekly'] as const;
export type DigestFrequency = (typeof DIGEST_FREQUENCIES)[number];

export interface DigestTiming {
  frequency: DigestFrequency;
  /** Minutes after local midnight. */
  minute: number;
  /** 0 = Sunday … 6 = Saturday; weekly only. */
  weekday: number | null;
  /** IANA zone; null: the server's. */
  timeZone: string | null;
}

export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

interface LocalParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  weekday: number;
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

function localParts(at: Date, zone: string | undefined): LocalParts {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    weekday: 'short',
  }).formatToParts(at);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return {
    year: Number(get('year')),
    month: Number(get('month')),
    day: Number(get('day')),
    hour: Number(get('hour')),
    minute: Number(get('minute')),
    weekday: WEEKDAYS.indexOf(get('weekday')),
  };
}

/** The instant of a local wall-clock time in `zone` (a time skipped by DST moves forward). */
function instantOf(
  year: number,
  month: number,
  day: number,
  minutes: number,
  zone: string | undefined,
): Date {
  const wanted = Date.UTC(year, month - 1, day, Math.floor(minutes / 60), minutes % 60);
  let guess = wanted;
  // a time skipped by a DST change has no exact match: the guesses then straddle it
  let later: number | null = null;
  for (let i = 0; i < 4; i++) {
    const p = localParts(new Date(guess), zone);
    const shown = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute);
    if (shown === wanted) return new Date(guess);
    if (shown > wanted && (later === null || guess < later)) later = guess;
    guess += wanted - shown;
  }
  return new Date(later ?? guess);
}

/** The first digest time strictly after `after`. */
export function nextDigestAt(timing: DigestTiming, after: Date): Date {
  const zone = timing.timeZone ?? undefined;
  const today = localParts(after, zone);
  for (let offset = 0; offset <= 8; offset++) {
    // calendar arithmetic on a UTC date, only for the local year/month/day
    const day = new Date(Date.UTC(today.year, today.month - 1, today.day + offset));
    const weekday = day.getUTCDay();
    if (timing.frequency === 'weekdays' && (weekday === 0 || weekday === 6)) continue;
    if (timing.frequency === 'weekly' && weekday !== (timing.weekday ?? 1)) continue;
    const at = instantOf(day.getUTCFullYear(), day.getUTCMonth() + 1, day.getUTCDate(), timing.minute, zone);
    if (at.getTime() > after.getTime()) return at;
  }
  // unreachable for valid timings; a day later keeps the schedule moving
  return new Date(after.getTime() + 24 * 3600_000);
}
