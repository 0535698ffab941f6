// JSON as Go's encoding/json writes a struct (providers/README.md §5.3): fields in the order the object lists them,
// no whitespace, `<` `>` `&` U+2028 U+2029 escaped, invalid UTF-16 as U+FFFD. For chat payloads built as plain objects.

const HTML_UNSAFE = /[<>&\u2028\u2029]/g;

/**
 * Serialises a payload built from plain objects, arrays, strings, booleans, numbers and null. Objects keep their
 * insertion order (struct field order); use only string keys that are not array indices.
 */
export function goJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'string' ? v.toWellFormed() : v))
    // Outside strings JSON has no `<`, `>` or `&`, so escaping the whole text only touches string contents.
    .replace(HTML_UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
