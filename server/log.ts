import pino from 'pino';

export type Logger = pino.Logger;

/** Structured JSON logs on stdout. Anything that may hold a secret is redacted by path. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service: 'amavis-console' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ['password', '*.password', 'authorization', '*.authorization', 'cookie', '*.cookie'] },
  };
  return destination ? pino(options, destination) : pino(options);
}
