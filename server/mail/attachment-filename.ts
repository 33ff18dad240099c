// Attachment names from a hostile sender, made safe to show and to offer as a download name: no
// directories, no control or bidirectional-override characters, no leading dots, no Windows device
// names or reserved characters, bounded length with the extension kept.
import libmime from 'libmime';

const MAX_LENGTH = 150;
const MAX_EXTENSION = 16;

// C0 and C1 controls, DEL, and the format characters that reorder or hide text ("invoice‮fdp.exe").
const INVISIBLE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]/g;
const WINDOWS_RESERVED = /[<>:"|?*]/g;
const DEVICE_NAME = /^(?:con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(?:\..*)?$/i;

function extensionFor(contentType: string): string {
  try {
    const ext = contentType.toLowerCase() === 'message/rfc822' ? 'eml' : libmime.detectExtension(contentType);
    return /^[a-z0-9]{1,10}$/i.test(ext) ? ext : 'bin';
  } catch {
    return 'bin';
  }
}

function cut(name: string): string {
  const chars = [...name];
  if (chars.length <= MAX_LENGTH) return name;
  const dot = name.lastIndexOf('.');
  const ext = dot > 0 ? name.slice(dot) : '';
  if (ext !== '' && [...ext].length <= MAX_EXTENSION) {
    return chars.slice(0, MAX_LENGTH - [...ext].length).join('') + ext;
  }
  return chars.slice(0, MAX_LENGTH).join('');
}

/**
 * A display and download name for an attachment. `original` is the decoded name from the message
 * (or null); when nothing usable is left, `part-<partId>.<extension for the content type>`.
 */
export function safeFilename(original: string | null, partId: string, contentType: string): string {
  let name = (original ?? '').normalize('NFC').replace(INVISIBLE, '');
  name = name.split(/[\\/]/).pop() ?? '';
  name = name.replace(WINDOWS_RESERVED, '_').replace(/\s+/g, ' ');
  name = name.replace(/^[\s.]+/, '').replace(/[\s.]+$/, '');
  if (DEVICE_NAME.test(name)) name = `_${name}`;
  name = cut(name);
  if (name === '' || /^_+$/.test(name)) {
    return `part-${partId.replace(/[^0-9.]/g, '')}.${extensionFor(contentType)}`;
  }
  return name;
}
