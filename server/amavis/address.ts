const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * amavisd stores addresses and header text as raw octets: usually UTF-8, sometimes Latin-1 from old
 * mailers. Decode as UTF-8 and fall back to Latin-1 byte for byte, so nothing throws and nothing is lost.
 */
export function decodeOctets(value: Buffer | null): string {
  if (!value || value.length === 0) return '';
  try {
    return utf8.decode(value);
  } catch {
    return value.toString('latin1');
  }
}
