import { openRealDatabase } from '../support/databases.ts';
import { jobMailSuite } from '../support/jobs-mail.shared.ts';
import { describeWith } from '../support/services.ts';

for (const [dialect, service] of [
  ['pg', 'postgresql'],
  ['mysql', 'mariadb'],
] as const) {
  // the lab's SMTP sink stands in for the operator's relay
  await describeWith(
    [service, 'amavisd'],
    `reminder and digest mail through the lab's SMTP sink, on ${service}`,
    () => {
      jobMailSuite(() => openRealDatabase(dialect));
    },
  );
}
