// Drivers disagree on binary values: postgres.js and mysql2 return Buffer, PGlite returns Uint8Array.
// Every binary column goes through these helpers so services only ever see Buffers or latin1 strings.

export function toBuffer(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (typeof value === 'string') {
    // postgres.js returns bytea as a hex string when the type parser is bypassed
    return value.startsWith('\\x') ? Buffer.from(value.slice(2), 'hex') : Buffer.from(value, 'latin1');
  }
  throw new TypeError(`expected binary data, got ${typeof value}`);
}

/** amavis ids (mail_id, secret_id) are ASCII; latin1 keeps any stray byte reversible. */
export function binaryToKey(value: unknown): string {
  return toBuffer(value).toString('latin1');
}

export function keyToBinary(value: string): Buffer {
  return Buffer.from(value, 'latin1');
}

/** MariaDB strips CHAR(1)'s trailing space, so amavisd's ' ' arrives as ''. One code for both. */
export function normaliseChar1(value: string | null): string | null {
  if (value === null) return null;
  return value === '' ? ' ' : value;
}
