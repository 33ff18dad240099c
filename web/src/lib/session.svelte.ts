// Who is using the app, as the server says (the session cookie itself is HttpOnly).
import { goto } from '$app/navigation';
import { handleUnauthenticated, query } from './graphql/client';
import { MyPreferencesQuery, PreferencesFields, ViewerFields, ViewerQuery } from './graphql/documents';
import { type ResultOf, readFragment } from './graphql/graphql';
import { locale, setLanguage, shippedLanguage } from './i18n/i18n.svelte';

export type Viewer = ResultOf<typeof ViewerFields>;
export type Preferences = ResultOf<typeof PreferencesFields>;

class Session {
  viewer = $state<Viewer | null>(null);
  preferences = $state<Preferences | null>(null);

  get isAccount(): boolean {
    return this.viewer?.kind === 'account';
  }

  get isAdmin(): boolean {
    return this.viewer?.role === 'superadmin' || this.viewer?.role === 'domainadmin';
  }

  get isSuperadmin(): boolean {
    return this.viewer?.role === 'superadmin';
  }
}

export const session = new Session();

export async function refreshViewer(): Promise<Viewer> {
  const data = await query(ViewerQuery, {});
  const viewer = readFragment(ViewerFields, data.viewer);
  session.viewer = viewer;
  if (viewer.kind === 'account') await loadPreferences();
  return viewer;
}

/** Applies an account's preferences: its language (when it chose one) and its time zone. */
export function applyPreferences(preferences: Preferences): void {
  session.preferences = preferences;
  const language = shippedLanguage(preferences.language);
  if (language) setLanguage(language, false);
  locale.timeZone = preferences.timeZone ?? undefined;
}

export async function loadPreferences(): Promise<void> {
  const data = await query(MyPreferencesQuery, {});
  applyPreferences(readFragment(PreferencesFields, data.myPreferences));
}

/** Pages anyone may open: the sign-in form and amavisd's notification links. */
export function isPublicPath(pathname: string): boolean {
  return pathname === '/login' || /^\/quarantine\/[^/]+\/?$/.test(pathname);
}

export function loginPath(next: string, expired = false): string {
  const params = new URLSearchParams();
  if (expired) params.set('expired', '1');
  if (next && next !== '/' && !next.startsWith('/login')) params.set('next', next);
  const search = params.toString();
  return search ? `/login?${search}` : '/login';
}

/** A query said UNAUTHENTICATED: the session ended (expired, revoked, signed out elsewhere). */
export function watchSessionExpiry(): void {
  handleUnauthenticated(() => {
    const wasSignedIn = session.viewer !== null && session.viewer.kind !== 'anonymous';
    const anonymous: Viewer = {
      kind: 'anonymous',
      email: null,
      role: null,
      addresses: [],
      domains: [],
      selfServiceMailId: null,
    };
    if (isPublicPath(location.pathname)) {
      session.viewer = anonymous;
      return;
    }
    // Leave first, then forget the viewer: the layout would otherwise send an anonymous visitor to the
    // sign-in form without saying that the session ended.
    void goto(loginPath(location.pathname + location.search, wasSignedIn), { replace: true }).then(() => {
      session.viewer = anonymous;
    });
  });
}
