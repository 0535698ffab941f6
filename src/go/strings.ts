// Go's string rules where provider text must match Flux byte for byte: strings.ToLower and fatih/camelcase's word split.

/**
 * Go's strings.ToLower: per code point, so no context rules (a final Σ stays σ) and İ becomes a plain i,
 * where JS toLowerCase would give ς and i + U+0307.
 */
export function goToLower(s: string): string {
  let out = '';
  for (const ch of s) {
    if (ch === '\u0130') out += 'i';
    else out += ch.toLowerCase();
  }
  return out;
}

const LOWER = /\p{Ll}/u;
const UPPER = /\p{Lu}/u;
const DIGIT = /\p{Nd}/u;

function classOf(ch: string): number {
  if (LOWER.test(ch)) return 1;
  if (UPPER.test(ch)) return 2;
  if (DIGIT.test(ch)) return 3;
  return 4;
}

/** Splits a reason into words the way Flux (fatih/camelcase) does: `PDFLoader` -> `PDF`, `Loader`. */
export function splitCamelcase(s: string): string[] {
  if (!s.isWellFormed()) return [s];
  const groups: string[][] = [];
  let last = 0;
  for (const ch of s) {
    const c = classOf(ch);
    if (c === last && groups.length > 0) groups[groups.length - 1]!.push(ch);
    else groups.push([ch]);
    last = c;
  }
  for (let i = 0; i < groups.length - 1; i++) {
    const a = groups[i]!;
    const b = groups[i + 1]!;
    if (a.length > 0 && b.length > 0 && UPPER.test(a[0]!) && LOWER.test(b[0]!)) {
      b.unshift(a.pop()!);
    }
  }
  return groups.filter((g) => g.length > 0).map((g) => g.join(''));
}
