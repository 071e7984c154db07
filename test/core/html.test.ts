/** The html tagged template: every interpolation escaped unless it is markup already; markupsafe's entities. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { escapeHtml, html, joinHtml, trusted } from '../../core/html.js';

test('text is escaped with the entities of Jinja2 |e (markupsafe), for content and attributes alike', () => {
  assert.is(escapeHtml(`<a href="x">Tom & Jerry's</a>`), '&lt;a href=&#34;x&#34;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;');
  assert.is(html`<p title="${'"q"'}">${'<b>'}</p>`.text, '<p title="&#34;q&#34;">&lt;b&gt;</p>');
});

test('built markup is inserted as it is, once: nesting never escapes twice', () => {
  const inner = html`<b>${'a&b'}</b>`;
  assert.is(html`<p>${inner}</p>`.text, '<p><b>a&amp;b</b></p>');
  assert.is(html`${html`${html`${'&'}`}`}`.text, '&amp;');
});

test('arrays are joined item by item; null and undefined are nothing; numbers are written', () => {
  const rows = ['<1>', html`<i>2</i>`, ['3', null, undefined, 4]];
  assert.is(html`<ul>${rows}</ul>`.text, '<ul>&lt;1&gt;<i>2</i>34</ul>');
  assert.is(html`${null}|${undefined}|${0}|${''}`.text, '||0|');
});

test('trusted markup and joined pieces are not escaped; a string separator is markup', () => {
  assert.is(html`<style>${trusted('a>b{font:"x"}')}</style>`.text, '<style>a>b{font:"x"}</style>');
  assert.is(joinHtml([html`<br>`, '<t>', 2], '\n').text, '<br>\n&lt;t&gt;\n2');
});

test('an Html prints as its markup where a string is expected', () => {
  assert.is(`${html`<i>${'<'}</i>`}`, '<i>&lt;</i>');
  assert.is(String(trusted('<hr>')), '<hr>');
});

test.run();
