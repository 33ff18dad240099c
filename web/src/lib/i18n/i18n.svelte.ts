// Every string the app shows comes from a typed dictionary: English is the reference, and French must
// translate every key (a missing one fails svelte-check). The language comes from the browser unless the
// user picked one, which is remembered in this browser.
import { en } from './en';
import { fr } from './fr';

export type MessageKey = keyof typeof en;
export const LANGUAGES = { en: 'English', fr: 'Français' } as const;
export type Language = keyof typeof LANGUAGES;

const dictionaries: Record<Language, Record<MessageKey, string>> = { en, fr };
const STORAGE_KEY = 'amavis-console.language';

class Locale {
  current = $state<Language>('en');
  /** The user's IANA time zone from their preferences; undefined: the browser's. */
  timeZone = $state<string | undefined>(undefined);
}

export const locale = new Locale();

function isLanguage(value: unknown): value is Language {
  return typeof value === 'string' && value in LANGUAGES;
}

/** The text for a key in the current language, with {name} placeholders filled in. */
export function t(key: MessageKey, params: Record<string, string | number> = {}): string {
  const text = dictionaries[locale.current][key];
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
}

export function setLanguage(language: Language, remember = true): void {
  locale.current = language;
  document.documentElement.lang = language;
  if (remember) localStorage.setItem(STORAGE_KEY, language);
}

/** A language tag (fr, fr-CA, pt-BR) as one of ours, if we ship it. */
export function shippedLanguage(tag: string | null | undefined): Language | null {
  const base = tag?.split('-')[0]?.toLowerCase();
  return isLanguage(base) ? base : null;
}

/** The remembered choice, else the first browser language we ship, else English. */
export function initialLanguage(): Language {
  const stored = localStorage.getItem(STORAGE_KEY);
  if (isLanguage(stored)) return stored;
  for (const tag of navigator.languages) {
    const base = tag.split('-')[0]?.toLowerCase();
    if (isLanguage(base)) return base;
  }
  return 'en';
}

export function formatDate(iso: string | null | undefined): string {
  if (!iso) return '';
  try {
    return new Intl.DateTimeFormat(locale.current, {
      dateStyle: 'medium',
      timeStyle: 'short',
      timeZone: locale.timeZone,
    }).format(new Date(iso));
  } catch {
    // a time zone this browser does not know
    return new Intl.DateTimeFormat(locale.current, { dateStyle: 'medium', timeStyle: 'short' }).format(
      new Date(iso),
    );
  }
}

export function formatNumber(value: number, digits = 1): string {
  return new Intl.NumberFormat(locale.current, { maximumFractionDigits: digits }).format(value);
}

export function formatSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${formatNumber(value, unit === 0 ? 0 : 1)} ${units[unit]}`;
}
