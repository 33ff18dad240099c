import { openRealDatabase } from '../support/databases.ts';
import { messageViewSuite } from '../support/message-view.shared.ts';
import { describeWith } from '../support/services.ts';

for (const [dialect, service] of [
  ['pg', 'postgresql'],
  ['mysql', 'mariadb'],
] as const) {
  await describeWith([service], `opening a message, on ${service}`, () => {
    messageViewSuite(() => openRealDatabase(dialect));
  });
}
