import { hash, verify } from '@node-rs/argon2';
import { InputError } from '../input-error.ts';

export const MIN_PASSWORD_LENGTH = 10;
const MAX_PASSWORD_LENGTH = 1024;

/** argon2id with the library's defaults (OWASP's minimum: m=19 MiB, t=2, p=1). */
export function hashPassword(password: string): Promise<string> {
  return hash(password);
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password);
  } catch {
    return false;
  }
}

let dummy: Promise<string> | undefined;

/** Verifies against a throwaway hash, so unknown accounts take as long to reject as known ones. */
export async function burnPasswordCheck(password: string): Promise<void> {
  dummy ??= hashPassword('not a password of anyone');
  await verifyPassword(await dummy, password);
}

export function checkNewPassword(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw new InputError(`the password must have at least ${MIN_PASSWORD_LENGTH} characters`);
  }
  if (password.length > MAX_PASSWORD_LENGTH) {
    throw new InputError(`the password must have at most ${MAX_PASSWORD_LENGTH} characters`);
  }
}
