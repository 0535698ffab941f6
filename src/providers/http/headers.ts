// Outbound header rules shared by HTTP providers: Go's canonical names, ordered merging, Basic credentials.


/** Canonical forms of the names seen so far: a handful per provider, asked for on every request. Bounded. */
const canonicalNames = new Map<string, string>();

/** Go's textproto.CanonicalMIMEHeaderKey: `content-type` -> `Content-Type`; names with invalid bytes stay as they are. */
export function canonicalHeaderKey(name: string): string {
  let known = canonicalNames.get(name);
  if (known === undefined) {
    known = canonicalize(name);
    if (canonicalNames.size < 1024) canonicalNames.set(name, known);
  }
  return known;
}

function canonicalize(name: string): string {
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) return name;
  let out = '';
  let upper = true;
  for (const c of name) {
    out += upper ? c.toUpperCase() : c.toLowerCase();
    upper = c === '-';
  }
  return out;
}

/**
 * Merges header sets in order; a later value replaces an earlier one with the same name (case-insensitive)
 * in the earlier one's position. Names are canonicalised as Go sends them.
 */
export function mergeHeaders(...sets: (Record<string, string> | undefined)[]): Record<string, string> {
  const byLower = new Map<string, [string, string]>();
  for (const set of sets) {
    if (!set) continue;
    for (const [name, value] of Object.entries(set)) {
      const lower = name.toLowerCase();
      const prev = byLower.get(lower);
      byLower.set(lower, [prev ? prev[0] : canonicalHeaderKey(name), value]);
    }
  }
  return Object.fromEntries(byLower.values());
}


/** The value of a Basic Authorization header (without the `Basic ` scheme). */
export function basicAuth(username: string, password: string): string {
  return Buffer.from(`${username}:${password}`, 'utf8').toString('base64');
}
