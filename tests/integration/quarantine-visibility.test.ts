import { openRealDatabase } from '../support/databases.ts';
import { visibilitySuite } from '../support/quarantine-visibility.shared.ts';
import { describeWith } from '../support/services.ts';

for (const [dialect, service] of [
  ['pg', 'postgresql'],
  ['mysql', 'mariadb'],
] as const) {
  await describeWith([service], `who sees which recipient, on ${service}`, () => {
    visibilitySuite(() => openRealDatabase(dialect));
  });
  await describeWith(
    [service],
    `who sees which recipient, on ${service}, with the listing accelerator`,
    () => {
      visibilitySuite(() => openRealDatabase(dialect), { accelerated: true });
    },
  );
}
