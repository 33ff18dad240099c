// SpamAssassin rule descriptions read from .cf files, on a small fixture tree shaped like an
// installation: packaged rules, sa-update rules in a versioned folder, site rules.
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseMessage } from '../../server/mail/parse-message.ts';
import { readRuleDescriptions, ruleDescriptions } from '../../server/mail/spamassassin-rules.ts';

const ROOT = fileURLToPath(new URL('../fixtures/spamassassin/', import.meta.url));
const DIRS = [`${ROOT}share`, `${ROOT}var`, `${ROOT}etc`];

describe('SpamAssassin rule descriptions', () => {
  it('reads describe lines from .cf files, later directories winning', async () => {
    const descriptions = await readRuleDescriptions(DIRS);
    expect(Object.fromEntries(descriptions)).toEqual({
      GTUBE: 'Generic Test for Unsolicited Bulk Email',
      DKIM_SIGNED: 'Message has a DKIM or DK signature, not necessarily valid',
      NO_RELAYS: 'Informational: message was not relayed via SMTP',
      HTML_MESSAGE: 'HTML included in message (sa-update)',
      BAYES_99: 'Site description for BAYES_99',
      LOCAL_RULE: 'Local rule: pharmacy subject',
    });
  });

  it('skips missing directories', async () => {
    const descriptions = await readRuleDescriptions([`${ROOT}does-not-exist`, `${ROOT}etc`]);
    expect(descriptions.get('LOCAL_RULE')).toBe('Local rule: pharmacy subject');
    expect(descriptions.has('GTUBE')).toBe(false);
  });

  it('reads once per set of directories and fills the verdict breakdown', async () => {
    const first = ruleDescriptions(DIRS);
    expect(ruleDescriptions(DIRS)).toBe(first);
    const descriptions = await first;
    const parsed = await parseMessage(
      Buffer.from(
        'X-Spam-Status: Yes, score=7.1 required=5.0 tests=BAYES_99,HTML_MESSAGE,UNKNOWN_RULE\n' +
          'Subject: s\n\nbody\n',
      ),
      { ruleDescriptions: descriptions },
    );
    expect(parsed.spam?.tests).toEqual([
      { name: 'BAYES_99', score: null, description: 'Site description for BAYES_99' },
      { name: 'HTML_MESSAGE', score: null, description: 'HTML included in message (sa-update)' },
      { name: 'UNKNOWN_RULE', score: null, description: null },
    ]);
  });
});
