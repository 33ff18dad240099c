// The access cache's rules, on a stand-in console store whose generation row the test controls (the
// replicas, the database and the mutations are in tests/integration/access-cache.test.ts).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  accessCacheFor,
  accessChanged,
  closeAccessCache,
  POLL_MS,
  type ResolvedCredentials,
} from '../../server/access/access-cache.ts';
import type { Actor } from '../../server/access/actor.ts';
import { ANONYMOUS } from '../../server/access/actor.ts';
import type { ConsoleStore } from '../../server/db/stores.ts';

const ACTOR: Actor = {
  kind: 'account',
  accountId: 1,
  email: 'a@x.example',
  role: 'user',
  addresses: ['a@x.example'],
  othersAddresses: [],
  domains: [],
  access: 'full',
  via: 'session',
  sessionId: 's1',
};

function fakeStore() {
  const state = { generation: 0, down: false, polls: 0, bumps: 0 };
  const store = {
    connection: {
      dialect: 'pg',
      rows: async () => {
        state.polls += 1;
        if (state.down) throw new Error('connection refused');
        return [{ value: String(state.generation) }];
      },
      db: {
        execute: async () => {
          state.bumps += 1;
          state.generation += 1;
        },
      },
    },
  } as unknown as ConsoleStore;
  return { store, state };
}

function counted(result: ResolvedCredentials) {
  const read = vi.fn(async () => result);
  return read;
}

describe('access cache', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  async function ready(ttlMs = 30_000) {
    const { store, state } = fakeStore();
    const cache = accessCacheFor(store, ttlMs);
    if (!cache) throw new Error('no cache');
    // the first use starts polling; nothing is kept before the first poll answered
    const read = counted({ actor: ACTOR, expiresAt: null });
    expect(await cache.actor('k', read)).toBe(ACTOR);
    await vi.advanceTimersByTimeAsync(0);
    return { store, state, cache, read };
  }

  it('reads once, then serves what it kept', async () => {
    const { store, cache, read } = await ready();
    for (let i = 0; i < 5; i += 1) expect(await cache.actor('k', read)).toBe(ACTOR);
    expect(read).toHaveBeenCalledTimes(2);
    closeAccessCache(store);
  });

  it('keeps an actor no request can change (it is shared between requests)', async () => {
    const { store, cache } = await ready();
    const actor = { ...ACTOR, addresses: ['b@x.example'], domains: ['x.example'] } as Actor;
    const kept = await cache.actor('f', async () => ({ actor, expiresAt: null }));
    expect(Object.isFrozen(kept)).toBe(true);
    expect(() => (kept as { addresses: string[] }).addresses.push('c@y.example')).toThrow(TypeError);
    expect(() => (kept as { domains: string[] }).domains.push('y.example')).toThrow(TypeError);
    closeAccessCache(store);
  });

  it('drops everything when the generation moved (another replica changed something)', async () => {
    const { store, state, cache, read } = await ready();
    await cache.actor('k', read);
    state.generation += 1;
    await vi.advanceTimersByTimeAsync(POLL_MS);
    await cache.actor('k', read);
    expect(read).toHaveBeenCalledTimes(3);
    closeAccessCache(store);
  });

  it('drops at once on a change made here, and bumps the generation', async () => {
    const { store, state, cache, read } = await ready();
    await cache.actor('k', read);
    await accessChanged(store);
    expect(state.bumps).toBe(1);
    await cache.actor('k', read);
    expect(read).toHaveBeenCalledTimes(3);
    closeAccessCache(store);
  });

  it('uses nothing kept once the generation cannot be read', async () => {
    const { store, state, cache, read } = await ready();
    await cache.actor('k', read);
    state.down = true;
    await vi.advanceTimersByTimeAsync(4 * POLL_MS);
    await cache.actor('k', read);
    await cache.actor('k', read);
    expect(read).toHaveBeenCalledTimes(4);
    // once read again and unchanged, what was kept before holds again
    state.down = false;
    await vi.advanceTimersByTimeAsync(POLL_MS);
    await cache.actor('k', read);
    await cache.actor('k', read);
    expect(read).toHaveBeenCalledTimes(4);
    closeAccessCache(store);
  });

  it('keeps nothing past its time to live or the credential’s expiry', async () => {
    const { store, cache } = await ready(5_000);
    const expiring = counted({ actor: ACTOR, expiresAt: new Date(Date.now() + 2_000) });
    await cache.actor('e', expiring);
    await cache.actor('e', expiring);
    expect(expiring).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(2_001);
    await cache.actor('e', expiring);
    expect(expiring).toHaveBeenCalledTimes(2);
    const lasting = counted({ actor: ACTOR, expiresAt: null });
    await cache.actor('l', lasting);
    await vi.advanceTimersByTimeAsync(5_001);
    await cache.actor('l', lasting);
    expect(lasting).toHaveBeenCalledTimes(2);
    closeAccessCache(store);
  });

  it('never keeps an anonymous answer', async () => {
    const { store, cache } = await ready();
    const unknown = counted({ actor: ANONYMOUS, expiresAt: null });
    await cache.actor('u', unknown);
    await cache.actor('u', unknown);
    expect(unknown).toHaveBeenCalledTimes(2);
    closeAccessCache(store);
  });

  it('keeps the settings under the same rules', async () => {
    const { store, state, cache } = await ready();
    const read = vi.fn(async () => ({ selfService: true }));
    await cache.settings(read);
    await cache.settings(read);
    expect(read).toHaveBeenCalledTimes(1);
    state.generation += 1;
    await vi.advanceTimersByTimeAsync(POLL_MS);
    await cache.settings(read);
    expect(read).toHaveBeenCalledTimes(2);
    closeAccessCache(store);
  });

  it('is off with a time to live of 0', () => {
    const { store } = fakeStore();
    expect(accessCacheFor(store, 0)).toBeNull();
  });

  it('stops polling when idle, and trusts nothing kept from before', async () => {
    const { store, state, cache, read } = await ready();
    await vi.advanceTimersByTimeAsync(61_000 + POLL_MS);
    const polls = state.polls;
    await vi.advanceTimersByTimeAsync(10 * POLL_MS);
    expect(state.polls).toBe(polls);
    await cache.actor('k', read);
    expect(read).toHaveBeenCalledTimes(2);
    closeAccessCache(store);
  });
});
