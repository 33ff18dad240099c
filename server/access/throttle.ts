// Brute-force brakes on login and self-service: failures are counted per claimed identity (an address,
// a mail_id) and per client address; past either limit, attempts are refused until the window passes.
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

export interface Attempt {
  identity: string;
  client: string | null | undefined;
}

export interface Throttle {
  /** Seconds to wait when blocked, else 0. */
  blockedFor(attempt: Attempt): Promise<number>;
  recordFailure(attempt: Attempt): Promise<void>;
  /** After a success: the identity starts afresh (the client's count stays). */
  reset(attempt: Attempt): Promise<void>;
}

const WINDOW_SECONDS = 15 * 60;

function createThrottle(name: string, perIdentity: number, perClient: number): Throttle {
  const identity = new RateLimiterMemory({
    points: perIdentity,
    duration: WINDOW_SECONDS,
    keyPrefix: `${name}:id`,
  });
  const client = new RateLimiterMemory({
    points: perClient,
    duration: WINDOW_SECONDS,
    keyPrefix: `${name}:ip`,
  });
  const pairs = (attempt: Attempt) =>
    [
      [identity, attempt.identity.toLowerCase(), perIdentity],
      [client, attempt.client ?? 'unknown', perClient],
    ] as const;
  return {
    blockedFor: async (attempt) => {
      let wait = 0;
      for (const [limiter, key, points] of pairs(attempt)) {
        const state = await limiter.get(key);
        if (state && state.consumedPoints >= points)
          wait = Math.max(wait, Math.ceil(state.msBeforeNext / 1000));
      }
      return wait;
    },
    recordFailure: async (attempt) => {
      for (const [limiter, key] of pairs(attempt)) {
        await limiter.consume(key).catch((error: unknown) => {
          if (!(error instanceof RateLimiterRes)) throw error;
        });
      }
    },
    reset: async (attempt) => {
      await identity.delete(attempt.identity.toLowerCase());
    },
  };
}

export interface Throttles {
  login: Throttle;
  selfService: Throttle;
}

/** 5 failures per identity and 30 per client address in 15 minutes. One set per process. */
export function createThrottles(): Throttles {
  return { login: createThrottle('login', 5, 30), selfService: createThrottle('self-service', 5, 30) };
}
