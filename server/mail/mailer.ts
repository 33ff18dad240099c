// Mail the console sends itself (release outcomes now; reminders and digests from the jobs), through
// one SMTP relay given by SMTP_URL. Without one, nothing is sent and the log says so: the console
// must not guess at a local MTA.
import nodemailer from 'nodemailer';
import type { Logger } from '../log.ts';

export interface OutgoingMail {
  from: string;
  to: string;
  subject: string;
  text: string;
  /** An HTML alternative to `text` (reminders, digests); escape everything that came from mail. */
  html?: string;
}

export interface SendResult {
  sent: boolean;
  /** Why not, for the caller's report and the audit trail. */
  error: string | null;
}

export interface Mailer {
  /** Never throws: a notification that cannot be sent must not undo the action it reports. */
  send(mail: OutgoingMail): Promise<SendResult>;
  close(): void;
}

export function createMailer(smtpUrl: string | null, log: Logger): Mailer {
  if (!smtpUrl) {
    return {
      send: async (mail) => {
        log.warn({ to: mail.to, subject: mail.subject }, 'SMTP_URL is not set: mail not sent');
        return { sent: false, error: 'no SMTP relay configured (SMTP_URL)' };
      },
      close: () => {},
    };
  }
  // nodemailer reads options from the URL's query; its defaults would hold a request for minutes
  const url = new URL(smtpUrl);
  for (const [name, ms] of [
    ['connectionTimeout', '10000'],
    ['greetingTimeout', '10000'],
    ['socketTimeout', '30000'],
  ] as const) {
    if (!url.searchParams.has(name)) url.searchParams.set(name, ms);
  }
  const transport = nodemailer.createTransport(url.toString());
  return {
    send: async (mail) => {
      try {
        await transport.sendMail({ ...mail, disableFileAccess: true, disableUrlAccess: true });
        return { sent: true, error: null };
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        log.error({ to: mail.to, subject: mail.subject, err: message }, 'could not send mail');
        return { sent: false, error: message };
      }
    },
    close: () => transport.close(),
  };
}
