// SpamAssassin's rule descriptions (`describe RULE text` in its .cf files), read once from the local
// installation, for the verdict breakdown when a message has no X-Spam-Report. Later directories win,
// as site rules override the packaged and sa-update ones. English only: `lang xx describe` is skipped.
import type { Dirent } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';

export const DEFAULT_RULE_DIRECTORIES: readonly string[] = [
  '/usr/share/spamassassin',
  '/var/lib/spamassassin',
  '/etc/spamassassin',
  '/etc/mail/spamassassin',
];

const MAX_DEPTH = 4;
const MAX_FILES = 2000;
const MAX_FILE_BYTES = 8 * 1024 * 1024;
const DESCRIBE = /^[ \t]*describe[ \t]+([A-Za-z0-9_]+)[ \t]+(\S.*?)[ \t]*$/;

async function cfFiles(dir: string, depth: number, out: string[]): Promise<void> {
  if (depth > MAX_DEPTH || out.length >= MAX_FILES) return;
  let entries: Dirent[];
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const entry of entries) {
    if (out.length >= MAX_FILES) return;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) await cfFiles(full, depth + 1, out);
    else if (entry.isFile() && entry.name.endsWith('.cf')) out.push(full);
  }
}

/** Reads the descriptions from the .cf files under `directories` (missing ones are skipped). */
export async function readRuleDescriptions(directories: readonly string[]): Promise<Map<string, string>> {
  const descriptions = new Map<string, string>();
  for (const dir of directories) {
    const files: string[] = [];
    await cfFiles(dir, 0, files);
    for (const file of files) {
      let text: string;
      try {
        const stat = await fs.stat(file);
        if (stat.size > MAX_FILE_BYTES) continue;
        text = await fs.readFile(file, 'utf8');
      } catch {
        continue;
      }
      for (const line of text.split(/\r?\n/)) {
        const m = DESCRIBE.exec(line);
        if (m?.[1] && m[2]) descriptions.set(m[1], m[2]);
      }
    }
  }
  return descriptions;
}

const cache = new Map<string, Promise<Map<string, string>>>();

/**
 * The descriptions of the local SpamAssassin installation, read on first use and kept. A failed
 * read gives an empty map (descriptions are a nicety, never a reason to fail a view).
 */
export function ruleDescriptions(
  directories: readonly string[] = DEFAULT_RULE_DIRECTORIES,
): Promise<Map<string, string>> {
  const key = directories.join('\0');
  let loaded = cache.get(key);
  if (!loaded) {
    loaded = readRuleDescriptions(directories).catch(() => new Map<string, string>());
    cache.set(key, loaded);
  }
  return loaded;
}
