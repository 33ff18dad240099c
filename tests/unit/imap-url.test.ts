// parseImapUrl: the whole configuration of an IMAP login target, checked at config load.
import { describe, expect, it } from 'vitest';
import { ImapUrlError, parseImapUrl } from '../../server/access/imap-auth.ts';

describe('parseImapUrl', () => {
  it('reads imap:// with opportunistic STARTTLS and port 143 by default', () => {
    expect(parseImapUrl('imap://mail.example.test')).toEqual({
      host: 'mail.example.test',
      port: 143,
      tls: 'starttls-opportunistic',
      tlsVerify: true,
      display: 'mail.example.test:143',
    });
  });

  it('reads imaps:// with port 993 by default', () => {
    expect(parseImapUrl('imaps://mail.example.test/')).toMatchObject({
      port: 993,
      tls: 'implicit',
      tlsVerify: true,
    });
  });

  it('reads the port, the STARTTLS policy and tls_verify', () => {
    expect(parseImapUrl('imap://127.0.0.1:10143')).toMatchObject({ host: '127.0.0.1', port: 10143 });
    expect(parseImapUrl('imap://h?starttls=off').tls).toBe('none');
    expect(parseImapUrl('imap://h?starttls=required').tls).toBe('starttls-required');
    expect(parseImapUrl('imap://h?starttls=required&tls_verify=off')).toMatchObject({
      tls: 'starttls-required',
      tlsVerify: false,
    });
    expect(parseImapUrl('imaps://h:10993?tls_verify=off')).toMatchObject({ port: 10993, tlsVerify: false });
    expect(parseImapUrl('imaps://h?tls_verify=on').tlsVerify).toBe(true);
  });

  it('takes IPv6 literals (brackets kept for display only)', () => {
    expect(parseImapUrl('imaps://[::1]:10993')).toMatchObject({
      host: '::1',
      port: 10993,
      display: '[::1]:10993',
    });
  });

  it.each([
    ['not a URL', 'not a valid URL'],
    ['', 'not a valid URL'],
    ['http://mail.example.test', 'unknown scheme "http:"'],
    ['pop3://mail.example.test', 'unknown scheme "pop3:"'],
    ['imap:///', 'has no host'],
    ['imap://mail.example.test/INBOX', 'must not have a path'],
    ['imap://mail.example.test#x', 'must not have a #fragment'],
    ['imap://mail.example.test:0', 'port 0'],
    ['imap://mail.example.test:70000', 'not a valid URL'],
    ['imap://mail.example.test?tls=on', 'unknown parameter "tls"'],
    ['imap://mail.example.test?starttls=yes', 'starttls=yes'],
    ['imap://mail.example.test?starttls=off&starttls=required', 'twice'],
    ['imaps://mail.example.test?starttls=required', 'only applies to imap://'],
    ['imap://mail.example.test?tls_verify=no', 'tls_verify=no'],
    ['imap://mail.example.test?starttls=off&tls_verify=off', 'no TLS to verify'],
  ])('rejects %j (%s)', (url, problem) => {
    expect(() => parseImapUrl(url)).toThrow(ImapUrlError);
    expect(() => parseImapUrl(url)).toThrow(problem);
  });

  it('never repeats a password found in the URL, and keeps the message on one line', () => {
    let message = '';
    try {
      parseImapUrl('imap://admin:hunter2-secret@mail.example.test\n');
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/must not contain a user name or password/);
    expect(message).not.toContain('hunter2-secret');
    expect(message).not.toContain('\n');

    // a password with '/' and '@' makes the URL unparseable: the message still hides it
    for (const url of [
      'imap://admin:hunter2/se@cret@mail.example.test',
      'admin:hunter2/se@cret@mail\nexample',
    ]) {
      message = '';
      try {
        parseImapUrl(url);
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toMatch(/^IMAP URL /);
      expect(message).not.toMatch(/hunter2|se@cret/);
      expect(message).not.toContain('\n');
    }
  });
});
