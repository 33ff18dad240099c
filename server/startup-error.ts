/**
 * A problem that stops the console from starting, worded for the operator: main.ts prints its message
 * as one line and exits, without a stack trace.
 */
export class StartupError extends Error {
  override name = 'StartupError';
}
