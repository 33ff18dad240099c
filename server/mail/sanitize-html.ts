// Making a message's HTML body safe to show: sanitize-html keeps ordinary formatting, tables and
// images and drops everything that runs, submits, navigates by itself or loads from elsewhere.
// Remote resources are removed and counted unless the viewer asked for images (then img src over
// http(s) stays, nothing else). The HTML must also be served with htmlContentSecurityPolicy(), in a
// sandboxed frame: the policy is the second wall if something slips through here.
import sanitizeHtml from 'sanitize-html';

export interface SanitizeOptions {
  /** Keep <img src="http(s)://..."> (the viewer clicked "show images"). */
  allowRemoteImages: boolean;
}

export interface SanitizedHtml {
  html: string;
  /** Remote references removed (images, backgrounds, srcset, CSS url(), @import, frames...). */
  blockedRemoteResources: number;
}

const ALLOWED_TAGS = [
  'a',
  'abbr',
  'acronym',
  'address',
  'b',
  'bdi',
  'bdo',
  'big',
  'blockquote',
  'br',
  'caption',
  'center',
  'cite',
  'code',
  'col',
  'colgroup',
  'dd',
  'del',
  'details',
  'dfn',
  'div',
  'dl',
  'dt',
  'em',
  'figcaption',
  'figure',
  'font',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'hr',
  'i',
  'img',
  'ins',
  'kbd',
  'li',
  'mark',
  'ol',
  'p',
  'pre',
  'q',
  's',
  'samp',
  'small',
  'span',
  'strike',
  'strong',
  'style',
  'sub',
  'summary',
  'sup',
  'table',
  'tbody',
  'td',
  'tfoot',
  'th',
  'thead',
  'tr',
  'tt',
  'u',
  'ul',
  'var',
  'wbr',
];

// Disallowed tags whose content is dropped too (not shown as text).
const NON_TEXT_TAGS = [
  'script',
  'style',
  'textarea',
  'option',
  'select',
  'xmp',
  'noscript',
  'noembed',
  'noframes',
  'title',
  'template',
  'iframe',
  'frameset',
  'frame',
  'object',
  'applet',
  'embed',
  'svg',
  'math',
  'canvas',
  'audio',
  'video',
  'button',
  'datalist',
];

const CELL = [
  'align',
  'valign',
  'width',
  'height',
  'bgcolor',
  'background',
  'colspan',
  'rowspan',
  'nowrap',
  'scope',
];
const ALLOWED_ATTRIBUTES: Record<string, string[]> = {
  '*': ['style', 'class', 'id', 'title', 'dir', 'lang', 'align'],
  a: ['href', 'name'],
  img: ['src', 'alt', 'width', 'height', 'border', 'hspace', 'vspace'],
  font: ['color', 'face', 'size'],
  table: ['width', 'height', 'border', 'cellpadding', 'cellspacing', 'bgcolor', 'background', 'summary'],
  tr: ['valign', 'bgcolor', 'background', 'height'],
  td: CELL,
  th: CELL,
  col: ['span', 'width', 'valign'],
  colgroup: ['span', 'width', 'valign'],
  div: ['bgcolor', 'background'],
  ol: ['start', 'type', 'reversed'],
  ul: ['type'],
  li: ['value', 'type'],
  hr: ['width', 'size', 'noshade', 'color'],
  blockquote: ['type'],
  details: ['open'],
};

const STYLE_PROPERTIES = [
  'background',
  'background-color',
  'background-position',
  'background-repeat',
  'background-size',
  'border',
  'border-bottom',
  'border-bottom-color',
  'border-bottom-left-radius',
  'border-bottom-right-radius',
  'border-bottom-style',
  'border-bottom-width',
  'border-collapse',
  'border-color',
  'border-left',
  'border-left-color',
  'border-left-style',
  'border-left-width',
  'border-radius',
  'border-right',
  'border-right-color',
  'border-right-style',
  'border-right-width',
  'border-spacing',
  'border-style',
  'border-top',
  'border-top-color',
  'border-top-left-radius',
  'border-top-right-radius',
  'border-top-style',
  'border-top-width',
  'border-width',
  'box-sizing',
  'caption-side',
  'clear',
  'color',
  'direction',
  'display',
  'float',
  'font',
  'font-family',
  'font-size',
  'font-style',
  'font-variant',
  'font-weight',
  'height',
  'letter-spacing',
  'line-height',
  'list-style',
  'list-style-position',
  'list-style-type',
  'margin',
  'margin-bottom',
  'margin-left',
  'margin-right',
  'margin-top',
  'max-height',
  'max-width',
  'min-height',
  'min-width',
  'opacity',
  'outline',
  'overflow',
  'overflow-x',
  'overflow-y',
  'padding',
  'padding-bottom',
  'padding-left',
  'padding-right',
  'padding-top',
  'table-layout',
  'text-align',
  'text-decoration',
  'text-indent',
  'text-transform',
  'vertical-align',
  'visibility',
  'white-space',
  'width',
  'word-break',
  'word-spacing',
  'word-wrap',
  'overflow-wrap',
  'mso-line-height-rule',
];
// No url(), no image functions, no escapes or comments that could hide them, no markup.
const SAFE_STYLE_VALUE =
  /^(?![\s\S]*(?:url\s*\(|image-set\s*\(|image\s*\(|cross-fade\s*\(|element\s*\(|expression|javascript|vbscript|behavior|binding|@import|\\|\/\*|[<>]))[\s\S]*$/i;
const ALLOWED_STYLES = {
  '*': Object.fromEntries(STYLE_PROPERTIES.map((p) => [p, [SAFE_STYLE_VALUE]])),
};

const DATA_IMAGE = /^data:image\/(?:png|gif|jpe?g|webp)(?:;[a-z0-9=._+-]*)*,/i;
const REMOTE_IN_CSS = /(?:url|image-set|image|cross-fade)\s*\(\s*["']?\s*(?:https?:)?\/\//gi;

type UrlKind = 'remote' | 'cid' | 'data-image' | 'mailto' | 'tel' | 'fragment' | 'relative' | 'other';

function classifyUrl(value: string): UrlKind {
  // what browsers ignore in URLs: ASCII tab and newlines anywhere, C0 controls and space around
  // biome-ignore lint/suspicious/noControlCharactersInRegex: browsers strip these controls, so must we
  const url = value.replace(/[\t\n\r]/g, '').replace(/^[\u0000-\u0020]+|[\u0000-\u0020]+$/g, '');
  if (url.startsWith('//') || url.startsWith('\\\\') || /^\/\\|^\\\//.test(url)) return 'remote';
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) return url.startsWith('#') ? 'fragment' : 'relative';
  if (scheme === 'http' || scheme === 'https') return 'remote';
  if (scheme === 'cid') return 'cid';
  if (scheme === 'mailto') return 'mailto';
  if (scheme === 'tel') return 'tel';
  if (scheme === 'data') return DATA_IMAGE.test(url) ? 'data-image' : 'other';
  return 'other';
}

/**
 * CSS with its escapes resolved in one pass, so that what is checked is what the browser reads. The
 * result may hold backslashes (from \5c); cleanStyleSheet escapes them again before output.
 */
function unescapeCss(css: string): string {
  return css
    .replace(
      /\\(?:([0-9a-fA-F]{1,6})[ \t\n\r\f]?|(\r\n|[\n\r\f])|([\s\S]))/g,
      (_, hex: string | undefined, newline: string | undefined, other: string | undefined) => {
        if (hex !== undefined) {
          const code = Number.parseInt(hex, 16);
          const valid = code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff);
          return valid ? String.fromCodePoint(code) : '\ufffd';
        }
        return newline !== undefined ? '' : (other ?? '');
      },
    )
    .replace(/[\0\ue000]/g, '\ufffd');
}

function countRemoteInCss(css: string): number {
  return [...unescapeCss(css).matchAll(REMOTE_IN_CSS)].length;
}

/** A <style> element's CSS without remote loads, imports, scripts or anything closing the element. */
function cleanStyleSheet(css: string, count: (n: number) => void): string {
  let text = unescapeCss(css).replace(/\/\*[\s\S]*?(?:\*\/|$)/g, '');
  text = text.replace(/@import\b[^;]*(?:;|$)/gi, (rule) => {
    if (/(?:https?:)?\/\//i.test(rule)) count(1);
    return '';
  });
  const kept: string[] = [];
  text = text.replace(/\burl\(\s*(?:"([^"]*)"|'([^']*)'|([^)"']*?))\s*\)/gi, (_, a, b, c) => {
    const target = String(a ?? b ?? c ?? '');
    const kind = classifyUrl(target);
    if (kind === 'cid' || kind === 'data-image') {
      kept.push(`url("${target.replace(/["\\\n\r<]/g, '')}")`);
      return `\ue000${kept.length - 1}\ue000`;
    }
    if (kind === 'remote') count(1);
    return 'none';
  });
  // whatever could still load (an unclosed url(, image functions with strings) stops being a function
  count([...text.matchAll(REMOTE_IN_CSS)].length);
  text = text.replace(
    /(?<![\w-])(?:url|(?:-webkit-)?image-set|image|cross-fade|element|expression)\s*\(/gi,
    'blocked(',
  );
  text = text.replace(/(?<![\w-])(behavior|-moz-binding)\s*:/gi, 'x-blocked:');
  // literal backslashes stay literal, and nothing can end the <style> element early
  text = text.replace(/\\/g, '\\5c ').replace(/</g, '\\3c ');
  return text.replace(/\ue000(\d+)\ue000/g, (_, i: string) => kept[Number(i)] ?? 'none');
}

export function sanitizeEmailHtml(html: string, options: SanitizeOptions): SanitizedHtml {
  let blocked = 0;
  const count = (n: number) => {
    blocked += n;
  };

  const transform = (tagName: string, attribs: sanitizeHtml.Attributes): sanitizeHtml.Tag => {
    const name = tagName === 'body' ? 'div' : tagName;
    const out: sanitizeHtml.Attributes = {};
    for (const [attribute, value] of Object.entries(attribs)) {
      const a = attribute.toLowerCase();
      if (a === 'style') {
        count(countRemoteInCss(value));
        out[attribute] = value;
      } else if (a === 'srcset' || a === 'imagesrcset') {
        if (value.split(',').some((candidate) => classifyUrl(candidate.trim()) === 'remote')) count(1);
      } else if (
        a === 'src' ||
        a === 'background' ||
        a === 'poster' ||
        a === 'data' ||
        a === 'lowsrc' ||
        a === 'dynsrc'
      ) {
        const kind = classifyUrl(value);
        const keep =
          kind === 'cid' ||
          kind === 'data-image' ||
          (kind === 'remote' &&
            options.allowRemoteImages &&
            name === 'img' &&
            a === 'src' &&
            /^\s*https?:/i.test(value));
        if (keep) out[attribute] = value;
        else if (kind === 'remote') count(1);
      } else if (a === 'href') {
        const kind = classifyUrl(value);
        if (name === 'link' || name === 'image' || name === 'use') {
          if (kind === 'remote') count(1);
        } else if (kind === 'remote' || kind === 'mailto' || kind === 'tel' || kind === 'fragment') {
          out[attribute] = value;
        }
      } else if (a === 'target' || a === 'rel') {
        // set below for links
      } else {
        out[attribute] = value;
      }
    }
    if (name === 'a' && out.href !== undefined && classifyUrl(out.href) !== 'fragment') {
      out.target = '_blank';
      out.rel = 'noopener noreferrer';
    }
    return { tagName: name, attribs: out };
  };

  const sanitized = sanitizeHtml(html, {
    allowedTags: ALLOWED_TAGS,
    allowedAttributes: {
      ...ALLOWED_ATTRIBUTES,
      a: [...(ALLOWED_ATTRIBUTES.a ?? []), 'target', 'rel'],
    },
    allowedStyles: ALLOWED_STYLES,
    parseStyleAttributes: true,
    allowedSchemes: ['http', 'https', 'mailto', 'tel'],
    allowedSchemesByTag: {
      img: ['http', 'https', 'cid', 'data'],
      table: ['cid', 'data'],
      tr: ['cid', 'data'],
      td: ['cid', 'data'],
      th: ['cid', 'data'],
      div: ['cid', 'data'],
    },
    allowedSchemesAppliedToAttributes: ['href', 'src', 'background', 'cite', 'poster'],
    allowProtocolRelative: false,
    nonTextTags: NON_TEXT_TAGS,
    disallowedTagsMode: 'discard',
    enforceHtmlBoundary: false,
    // <style> is allowed on purpose: its CSS is cleaned below (cleanStyleSheet)
    allowVulnerableTags: true,
    transformTags: { '*': transform },
  });

  const withCleanCss = sanitized.replace(
    /<style(?:\s[^>]*)?>([\s\S]*?)(?:<\/style>|$)/gi,
    (_, css: string) => `<style>${cleanStyleSheet(css, count)}</style>`,
  );
  return { html: withCleanCss, blockedRemoteResources: blocked };
}

/**
 * The Content-Security-Policy to serve sanitised HTML with (in a sandboxed iframe). 'self' lets the
 * viewer rewrite cid: references to the console's attachment URLs.
 */
export function htmlContentSecurityPolicy(options: SanitizeOptions): string {
  const images = ["'self'", 'data:', 'cid:', ...(options.allowRemoteImages ? ['https:', 'http:'] : [])];
  return [
    "default-src 'none'",
    `img-src ${images.join(' ')}`,
    "style-src 'unsafe-inline'",
    "form-action 'none'",
    "frame-ancestors 'self'",
    "base-uri 'none'",
    'sandbox allow-popups allow-popups-to-escape-sandbox',
  ].join('; ');
}
