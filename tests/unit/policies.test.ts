// The pure parts of policies and sender lists: amavisd's lookup keys and priorities, how it reads
// flags, level ordering, sender patterns and the effective-policy resolution order.
import { describe, expect, it } from 'vitest';
import {
  keyPriority,
  lookupKeys,
  type MatchedUsersRow,
  withoutExtension,
} from '../../server/amavis/policy-lookup.ts';
import {
  checkLevelOrder,
  flagValue,
  policyValues,
  resolveFields,
} from '../../server/features/policies/policies.service.ts';
import { POLICY_FIELD_KEYS, POLICY_FIELDS } from '../../server/features/policies/policy-fields.ts';
import { parseSender } from '../../server/features/sender-lists/sender-lists.service.ts';

const settings = { localpartIsCaseSensitive: false, recipientDelimiter: '+' };

describe('amavisd lookup keys and README.lookups priorities', () => {
  it('lists the keys most specific first', () => {
    expect(lookupKeys('user+foo@sub.example.com', '+')).toEqual([
      'user+foo@sub.example.com',
      'user@sub.example.com',
      '@sub.example.com',
      '@.sub.example.com',
      '@.example.com',
      '@.com',
      '@.',
    ]);
  });

  it('strips an address extension as amavisd does for its second key', () => {
    expect(withoutExtension('user+foo@example.com', '+')).toBe('user@example.com');
    expect(withoutExtension('user-foo+bar@example.com', '+-')).toBe('user@example.com');
    expect(withoutExtension('user+foo@example.com', '')).toBe('user+foo@example.com');
    expect(withoutExtension('+foo@example.com', '+')).toBe('+foo@example.com');
  });

  it('gives each kind of key its priority, so rows never tie', () => {
    expect(
      ['user@example.com', '@sub.example.com', '@.sub.example.com', '@.example.com', '@.com', '@.'].map(
        keyPriority,
      ),
    ).toEqual([9, 5, 3, 2, 1, 0]);
    expect(keyPriority('@.a.b.c.example.com')).toBe(4);
  });
});

describe('policy values', () => {
  it("reads flags as amavisd does: N, n, F, f, 0, space and '' are false", () => {
    for (const off of ['N', 'n', 'F', 'f', '0', ' ', '']) expect(flagValue(off), off).toBe(false);
    for (const on of ['Y', 'y', 'T', '1', 'x']) expect(flagValue(on), on).toBe(true);
  });

  it('maps every catalogue field to a policy column', () => {
    const values = policyValues(null);
    expect(Object.keys(values).sort()).toEqual([...POLICY_FIELD_KEYS].sort());
    expect(Object.values(values).every((v) => v === null)).toBe(true);
    expect(new Set(POLICY_FIELDS.map((f) => f.column)).size).toBe(POLICY_FIELDS.length);
  });

  it('refuses levels in an order amavisd would make no sense of', () => {
    const values = policyValues(null);
    expect(() => checkLevelOrder({ ...values, spamTag2Level: 6, spamKillLevel: 5 })).toThrow(
      /spamKillLevel: 5 is below spamTag2Level 6/,
    );
    expect(() => checkLevelOrder({ ...values, spamKillLevel: 8, spamDsnCutoffLevel: 7 })).toThrow(
      /spamDsnCutoffLevel/,
    );
    expect(() => checkLevelOrder({ ...values, spamTag2Level: 6, spamDsnCutoffLevel: 1 })).not.toThrow();
    expect(() =>
      checkLevelOrder({ ...values, spamTagLevel: -999, spamTag2Level: 5, spamKillLevel: 5 }),
    ).not.toThrow();
  });

  it('takes each field from the first matching row that sets it', () => {
    const row = (
      email: string,
      priority: number,
      policy: Record<string, unknown> | null,
    ): MatchedUsersRow => ({
      usersId: priority,
      email,
      priority,
      policyId: priority,
      policy: policy as MatchedUsersRow['policy'],
    });
    const fields = resolveFields([
      row('u@example.com', 9, { spamKillLevel: 3, bypassSpamChecks: null }),
      row('@example.com', 5, { spamKillLevel: 20, bypassSpamChecks: 'Y', spamSubjectTag2: '' }),
      row('@.', 0, null),
    ]);
    const field = (key: string) => fields.find((f) => f.key === key);
    expect(field('spamKillLevel')).toMatchObject({ value: 3, source: 'u@example.com', sourcePriority: 9 });
    expect(field('bypassSpamChecks')).toMatchObject({ value: true, source: '@example.com' });
    // '' is a value: it ends the search (no subject tag)
    expect(field('spamSubjectTag2')).toMatchObject({ value: '', source: '@example.com' });
    expect(field('spamTagLevel')).toMatchObject({ value: null, source: null });
  });
});

describe('sender patterns', () => {
  it('turns addresses, domains and subdomain patterns into mailaddr keys and priorities', () => {
    expect(parseSender(' Friend@Example.COM ', settings)).toEqual({
      email: 'friend@example.com',
      kind: 'address',
      priority: 9,
    });
    expect(parseSender('@Example.com', settings)).toEqual({
      email: '@example.com',
      kind: 'domain',
      priority: 5,
    });
    expect(parseSender('example.com', settings)).toEqual({
      email: '@example.com',
      kind: 'domain',
      priority: 5,
    });
    expect(parseSender('@.example.com', settings)).toEqual({
      email: '@.example.com',
      kind: 'subdomains',
      priority: 2,
    });
    expect(parseSender('@.mail.example.com', settings)).toMatchObject({ priority: 3 });
    expect(parseSender('@.bücher.example', settings)).toMatchObject({ email: '@.xn--bcher-kva.example' });
  });

  it('refuses what is not a sender pattern', () => {
    expect(() => parseSender('@.', settings)).toThrow(/policy matter/);
    expect(() => parseSender('not an address@', settings)).toThrow(/^sender: /);
    expect(() => parseSender('', settings)).toThrow(/sender/);
  });
});
