import type { ROLES } from '../access/actor.ts';
import { builder } from './builder.ts';

/** Shared by every feature that shows an account's role. */
export const RoleEnum = builder.enumType('Role', {
  description: 'What an account may administer.',
  values: {
    superadmin: { value: 'superadmin', description: 'Everything: all domains, accounts and settings.' },
    domainadmin: {
      value: 'domainadmin',
      description: 'The quarantine and users of the domains it administers.',
    },
    user: { value: 'user', description: 'The quarantine of its own addresses.' },
  } satisfies Record<(typeof ROLES)[number], unknown>,
});
