/** Wrong address or password (deliberately the same message for both). */
export class InvalidCredentialsError extends Error {
  override name = 'InvalidCredentialsError';
  constructor() {
    super('wrong address or password');
  }
}

/** Too many failed attempts for this identity or client; try again later. */
export class TooManyAttemptsError extends Error {
  override name = 'TooManyAttemptsError';
  readonly retryAfterSeconds: number;
  constructor(retryAfterSeconds: number) {
    super(`too many failed attempts; try again in ${retryAfterSeconds} s`);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** The self-service link is wrong, expired, or self-service is off (one message for all three). */
export class InvalidLinkError extends Error {
  override name = 'InvalidLinkError';
  constructor() {
    super('this quarantine link is not valid');
  }
}

/** A service the console depends on (the IMAP server) did not answer. */
export class ServiceUnavailableError extends Error {
  override name = 'ServiceUnavailableError';
}
