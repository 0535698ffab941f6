// Go net/url query values (ParseQuery as URL.Query uses it, Values.Encode) for form bodies and query rewrites.
import { compareBytes } from '../api/event.js';
import { goQueryEscape, goUnescape } from './url.js';

/**
 * Go's URL.Query(): `&`-separated pairs, `+` as space; a pair with `;` or a bad escape is dropped (ParseQuery's error
 * is ignored there), as are empty pairs. Keys keep their first-seen order; values their order.
 */
export function goParseQuery(rawQuery: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const pair of rawQuery.split('&')) {
    if (pair === '' || pair.includes(';')) continue;
    const eq = pair.indexOf('=');
    let key: string;
    let value: string;
    try {
      key = goUnescape(eq < 0 ? pair : pair.slice(0, eq), 'query');
      value = eq < 0 ? '' : goUnescape(pair.slice(eq + 1), 'query');
    } catch {
      continue;
    }
    const list = out.get(key);
    if (list) list.push(value);
    else out.set(key, [value]);
  }
  return out;
}

/** Go's url.Values.Encode: keys sorted by byte order, `key=value` pairs joined with `&`, both query-escaped. */
export function goEncodeQuery(values: Map<string, string[]> | Record<string, string>): string {
  const entries: [string, string[]][] = values instanceof Map
    ? [...values.entries()]
    : Object.entries(values).map(([k, v]) => [k, [v]]);
  entries.sort(([a], [b]) => compareBytes(a, b));
  const parts: string[] = [];
  for (const [key, list] of entries) {
    for (const v of list) parts.push(`${goQueryEscape(key)}=${goQueryEscape(v)}`);
  }
  return parts.join('&');
}
