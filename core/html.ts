/**
 * One way to write HTML: the `html` tagged template escapes every interpolated value unless it is
 * already-built markup (an `Html`, which only `html` and `trusted` make), and joins arrays. Markup
 * built this way cannot forget an escape, because a plain string is always treated as text.
 *
 * The entities are those of Jinja2's `|e` (markupsafe): pulpcore renders its content-app listings
 * with it, and the embedded site's listings match pulpcore's byte for byte.
 */

/** Markup that is safe to insert as it is. */
export class Html {
  /** Use `html` or `trusted`; the constructor is not the way in. */
  private constructor(readonly text: string) {}

  /** @internal the one place an Html is made. */
  static of(text: string): Html {
    return new Html(text);
  }

  toString(): string {
    return this.text;
  }
}

/**
 * What may be interpolated: markup as it is; text and numbers escaped; null and undefined as
 * nothing; arrays item by item, joined with nothing. Booleans are left out on purpose, so that
 * `${cond && html`…`}` (which would print "false") does not type-check.
 */
export type HtmlValue = Html | string | number | null | undefined | readonly HtmlValue[];

const ENTITY: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&#34;', "'": '&#39;' };

/** Text made safe for element content and quoted attribute values alike (markupsafe's entities). */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITY[c] ?? c);
}

function render(value: HtmlValue): string {
  if (value instanceof Html) return value.text;
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return escapeHtml(value);
  if (typeof value === 'number') return String(value);
  let out = '';
  for (const item of value) out += render(item);
  return out;
}

/** Markup from a template: every `${value}` is escaped unless it is already `Html`. */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): Html {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += render(values[i]) + (strings[i + 1] ?? '');
  return Html.of(out);
}

/** Markup the program wrote itself (a stylesheet, a script, a constant): inserted as it is. Never for data. */
export function trusted(markup: string): Html {
  return Html.of(markup);
}

/** Pieces of markup joined with a separator (which is markup too, e.g. a newline). */
export function joinHtml(parts: readonly HtmlValue[], separator = ''): Html {
  return Html.of(parts.map(render).join(separator));
}
