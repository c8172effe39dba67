import { describe, expect, it } from 'vitest';
import { escapeHtml, jsonForScript, scriptText } from '../../src/report/escape.ts';

describe('escaping for a self-contained page', () => {
  it('escapes text and attribute values', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });

  it('JSON for a script element contains no tag or comment openers and parses back to the same value', () => {
    const value = { d: '</script><!-- <script>alert(1)</script> & \u2028 \u2029', n: [1, 2.5] };
    const text = jsonForScript(value);
    expect(text).not.toMatch(/<\/script/i);
    expect(text).not.toContain('<!--');
    expect(text).not.toContain('<');
    expect(text).not.toContain('\u2028');
    expect(JSON.parse(text)).toEqual(value);
  });

  it('library source keeps its meaning but cannot close or comment out the script element', () => {
    const source = `var a = "</script>"; var b = '<!--'; var c = /<\\/SCRIPT>/i; var d = \`</Script \${1}>\`;`;
    const safe = scriptText(source);
    expect(safe).not.toMatch(/<\/script/i);
    expect(safe).not.toContain('<!--');
    const run = (src: string) => new Function(`${src}; return [a, b, c.test('</script>'), d];`)();
    expect(run(safe)).toEqual(run(source));
  });
});
