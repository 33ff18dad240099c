// Job schedules are five-field cron expressions (minute hour day-of-month month day-of-week, in the
// server's local time), which Bree schedules with @breejs/later. later accepts nonsense silently
// ("61 * * * *" runs at :59), so expressions are checked field by field here first.
import later from '@breejs/later';

later.date.localTime();

const RANGES: [number, number][] = [
  [0, 59],
  [0, 23],
  [1, 31],
  [1, 12],
  [0, 7],
];

function fieldValid(field: string, [min, max]: [number, number]): boolean {
  return field.split(',').every((part) => {
    const match = /^(\*|(\d{1,2})(?:-(\d{1,2}))?)(?:\/(\d{1,2}))?$/.exec(part);
    if (!match) return false;
    const [, , from, to, step] = match;
    if (step !== undefined && Number(step) < 1) return false;
    if (from === undefined) return true;
    const a = Number(from);
    const b = to === undefined ? a : Number(to);
    return a >= min && b <= max && a <= b;
  });
}

/** Whether `expression` is a five-field cron expression with values in range. */
export function isCronExpression(expression: string): boolean {
  const fields = expression.trim().split(/\s+/);
  return fields.length === 5 && fields.every((field, i) => fieldValid(field, RANGES[i] as [number, number]));
}

/** The next time after `after` that `expression` fires, or null if it is not valid. */
export function nextRun(expression: string, after = new Date()): Date | null {
  if (!isCronExpression(expression)) return null;
  // later's start is inclusive: a run due this very second is not "next"
  const next = later.schedule(later.parse.cron(expression.trim())).next(1, new Date(after.getTime() + 1000));
  return next instanceof Date ? new Date(Math.floor(next.getTime() / 1000) * 1000) : null;
}
