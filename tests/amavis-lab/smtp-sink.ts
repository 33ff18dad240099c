// SMTP sink for the amavis lab: everything amavisd sends out (passed mail,
// notifications, released and requeued messages) ends up here.
//
// Each message is stored as <dir>/<ns>-<n>.eml (raw bytes as received, CRLF)
// plus <dir>/<ns>-<n>.json with the envelope {mail_from, rcpt_tos, size}.
// <ns> is a wall-clock nanosecond stamp taken from the monotonic clock, so
// file names sort in arrival order, also across sink restarts. The .json is
// written first and the .eml is renamed into place last: once an .eml is
// visible, both files are complete.
//
// Run with the project's Node (type stripping, no build step):
//   node tests/amavis-lab/smtp-sink.ts [--host 127.0.0.1] [--port 10025] [--dir /tmp/amavis-console-lab/sink]
// Environment fallbacks: SINK_HOST, SINK_PORT, SINK_DIR (else $STATE_DIR/sink).
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { SMTPServerAddress } from 'smtp-server';
import { SMTPServer } from 'smtp-server';

interface Envelope {
  mail_from: string;
  rcpt_tos: string[];
  size: number;
}

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: process.env.SINK_HOST ?? '127.0.0.1' },
    port: { type: 'string', default: process.env.SINK_PORT ?? '10025' },
    dir: {
      type: 'string',
      default: process.env.SINK_DIR ?? join(process.env.STATE_DIR ?? '/tmp/amavis-console-lab', 'sink'),
    },
  },
  strict: true,
});
const host = values.host;
const port = Number(values.port);
const dir = values.dir;
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error(`smtp-sink: invalid port ${values.port}`);
  process.exit(2);
}
mkdirSync(dir, { recursive: true });

const epochNsAtStart = BigInt(Date.now()) * 1_000_000n;
const hrAtStart = process.hrtime.bigint();
const stamp = (): string => (epochNsAtStart + (process.hrtime.bigint() - hrAtStart)).toString();
let counter = 0;

function store(data: Buffer, mailFrom: SMTPServerAddress | false, rcptTo: SMTPServerAddress[]): string {
  mkdirSync(dir, { recursive: true }); // the lab may have emptied or removed it meanwhile
  counter += 1;
  const base = join(dir, `${stamp()}-${counter}`);
  const envelope: Envelope = {
    mail_from: mailFrom ? mailFrom.address : '',
    rcpt_tos: rcptTo.map((r) => r.address),
    size: data.length,
  };
  writeFileSync(`${base}.json`, `${JSON.stringify(envelope)}\n`);
  writeFileSync(`${base}.eml.tmp`, data);
  renameSync(`${base}.eml.tmp`, `${base}.eml`);
  return `${base}.eml`;
}

const server = new SMTPServer({
  name: 'sink.amavis-lab.example.test',
  banner: 'amavis-lab SMTP sink',
  // amavisd would use STARTTLS if offered; keep the session plain
  disabledCommands: ['STARTTLS', 'AUTH'],
  hideSTARTTLS: true,
  authOptional: true,
  // no PTR lookup of 127.0.0.1 (there may be no working DNS at all)
  disableReverseLookup: true,
  size: 64 * 1024 * 1024,
  closeTimeout: 1000,
  logger: false,
  onData(stream, session, callback) {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('error', (err: Error) => callback(err));
    stream.on('end', () => {
      try {
        const file = store(Buffer.concat(chunks), session.envelope.mailFrom, session.envelope.rcptTo);
        console.log(`stored ${file}`);
        callback(null, '2.0.0 Ok: stored');
      } catch (err) {
        console.error('smtp-sink: cannot store message:', err);
        callback(err instanceof Error ? err : new Error(String(err)));
      }
    });
  },
});

server.on('error', (err: Error) => {
  console.error(`smtp-sink: ${err.message}`);
  process.exitCode = 1;
});

server.listen(port, host, () => {
  console.log(`smtp-sink listening on ${host}:${port}, storing into ${dir}`);
});

let stopping = false;
function stop(signal: string): void {
  if (stopping) return;
  stopping = true;
  console.log(`smtp-sink: ${signal}, closing`);
  // server.close() waits for open sessions (up to closeTimeout); never hang
  setTimeout(() => process.exit(0), 2000).unref();
  server.close(() => process.exit(0));
}
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
