import { builder } from './builder.ts';

builder.scalarType('DateTime', {
  description: 'An instant in time as an ISO 8601 string in UTC, e.g. 2026-11-25T06:36:04.000Z.',
  serialize: (value) => value.toISOString(),
  parseValue: (value) => {
    const date = typeof value === 'string' ? new Date(value) : new Date(Number.NaN);
    if (Number.isNaN(date.getTime())) throw new TypeError('DateTime must be an ISO 8601 string');
    return date;
  },
});
