// The CEL environment of spec.commitStatusExpr: cel-js plus the cel-go extensions Flux enables that cel-js lacks.
import { Environment, Optional } from '@marcbachmann/cel-js';

interface CelErrorLike {
  summary?: string;
  code?: string;
  message?: string;
  range?: { start: number; end: number };
}

/** A cel-go style issue: `ERROR: <input>:1:70: undeclared reference to 'x' (in container '')` plus the source snippet. */
export function celIssue(err: unknown, expr: string): string {
  const e = (err ?? {}) as CelErrorLike;
  let summary = e.summary ?? e.message ?? String(err);
  const unknown = /^Unknown variable: (.*)$/.exec(summary);
  if (unknown) summary = `undeclared reference to '${unknown[1]}' (in container '')`;
  const overload = /^no such overload: (.+?) (==|!=|<=|>=|<|>|\+|-|\*|\/|%|in|&&|\|\|) (.+)$/.exec(summary);
  if (overload) summary = `found no matching overload for '_${overload[2]}_' applied to '(${celGoTypeName(overload[1]!)}, ${celGoTypeName(overload[3]!)})'`;
  const offset = e.range?.start ?? 0;
  const cps = [...expr];
  let line = 1;
  let col = 0;
  let lineStart = 0;
  let unit = 0;
  for (let i = 0; i < cps.length && unit < offset; i++) {
    unit += cps[i]!.length;
    if (cps[i] === '\n') {
      line++;
      col = 0;
      lineStart = i + 1;
    } else {
      col++;
    }
  }
  let lineEnd = lineStart;
  while (lineEnd < cps.length && cps[lineEnd] !== '\n') lineEnd++;
  const source = cps.slice(lineStart, lineEnd).join('');
  return `ERROR: <input>:${line}:${col + 1}: ${summary}\n | ${source}\n | ${'.'.repeat(col)}^`;
}

export function celRuntimeCause(err: unknown): string {
  const e = (err ?? {}) as CelErrorLike;
  const summary = e.summary ?? e.message ?? String(err);
  const noKey = /^No such key: (.*)$/.exec(summary);
  if (noKey) return `no such key: ${noKey[1]}`;
  if (summary === 'Optional value is not present') return 'optional.none() dereference';
  return summary;
}

/** cel-js type names in cel-go's spelling: `list<string>` -> `list(string)`, `optional<int>` -> `optional_type(int)`. */
export function celGoTypeName(t: string): string {
  const s = t.trim();
  if (s === 'null') return 'null_type';
  if (s === 'list') return 'list(dyn)';
  if (s === 'map') return 'map(dyn, dyn)';
  const m = /^(list|map|optional)<(.*)>$/.exec(s);
  if (!m) return s;
  const args = splitTypeArgs(m[2]!).map(celGoTypeName).join(', ');
  return m[1] === 'optional' ? `optional_type(${args})` : `${m[1]}(${args})`;
}

function splitTypeArgs(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '<') depth++;
    else if (s[i] === '>') depth--;
    else if (s[i] === ',' && depth === 0) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  out.push(s.slice(start));
  return out;
}

class StringsNamespace {}
class Base64Namespace {}
class SetsNamespace {}

let environment: Environment | undefined;

export function celEnvironment(): Environment {
  if (environment) return environment;
  const env = new Environment({
    enableOptionalTypes: true,
    homogeneousAggregateLiterals: true,
    // A commit status id is a short expression; these bounds keep a hostile one from stalling the event path.
    limits: { maxAstNodes: 2000, maxDepth: 100, maxListElements: 256, maxMapEntries: 256, maxCallArguments: 32 },
  })
    // google.protobuf.Struct in cel-go: every field access has static type dyn.
    .registerVariable('event', 'map<string, dyn>')
    .registerVariable('alert', 'map<string, dyn>')
    .registerVariable('provider', 'map<string, dyn>')
    // cel-go optional types library
    .registerFunction('list<A>.first(): optional<A>', (l: unknown[]) => Optional.of(l[0]))
    .registerFunction('list<A>.last(): optional<A>', (l: unknown[]) => Optional.of(l[l.length - 1]))
    .registerFunction('OptionalNamespace.ofNonZeroValue(A): optional<A>', (_ns: unknown, v: unknown) => (isZeroValue(v) ? Optional.none() : Optional.of(v)))
    // cel-go ext.Strings functions cel-js does not ship
    .registerFunction('string.charAt(int): string', (s: string, i: bigint) => charAt(s, i))
    .registerFunction('string.replace(string, string): string', (s: string, a: string, b: string) => replaceN(s, a, b, -1n))
    .registerFunction('string.replace(string, string, int): string', (s: string, a: string, b: string, n: bigint) => replaceN(s, a, b, n))
    .registerFunction('string.reverse(): string', (s: string) => [...s].reverse().join(''))
    .registerFunction('string.format(list): string', (s: string, args: unknown[]) => celFormat(s, args))
    .registerType('StringsNamespace', StringsNamespace)
    .registerConstant('strings', 'StringsNamespace', new StringsNamespace())
    .registerFunction('StringsNamespace.quote(string): string', (_ns: unknown, s: string) => celQuote(s))
    // cel-go ext.Encoders
    .registerType('Base64Namespace', Base64Namespace)
    .registerConstant('base64', 'Base64Namespace', new Base64Namespace())
    .registerFunction('Base64Namespace.encode(bytes): string', (_ns: unknown, b: Uint8Array) => Buffer.from(b).toString('base64'))
    .registerFunction('Base64Namespace.decode(string): bytes', (_ns: unknown, s: string) => base64Decode(s))
    // cel-go ext.Sets
    .registerType('SetsNamespace', SetsNamespace)
    .registerConstant('sets', 'SetsNamespace', new SetsNamespace())
    .registerFunction('SetsNamespace.contains(list, list): bool', (_ns: unknown, a: unknown[], b: unknown[]) => b.every((x) => a.some((y) => celEqual(x, y))))
    .registerFunction('SetsNamespace.equivalent(list, list): bool', (_ns: unknown, a: unknown[], b: unknown[]) =>
      b.every((x) => a.some((y) => celEqual(x, y))) && a.every((x) => b.some((y) => celEqual(x, y))))
    .registerFunction('SetsNamespace.intersects(list, list): bool', (_ns: unknown, a: unknown[], b: unknown[]) => a.some((x) => b.some((y) => celEqual(x, y))));
  environment = env;
  return env;
}

function isZeroValue(v: unknown): boolean {
  if (v === null || v === undefined || v === '' || v === false || v === 0 || v === 0n) return true;
  if (Array.isArray(v) || v instanceof Uint8Array) return v.length === 0;
  if (v instanceof Map) return v.size === 0;
  if (typeof v === 'object' && !(v instanceof Date) && !(v instanceof Optional)) return Object.keys(v).length === 0;
  return false;
}

function charAt(s: string, i: bigint): string {
  const cps = [...s];
  const idx = Number(i);
  if (idx < 0 || idx > cps.length) throw new Error(`index out of range: ${i}`);
  return cps[idx] ?? '';
}

function replaceN(s: string, from: string, to: string, n: bigint): string {
  if (n === 0n) return s;
  if (from === '') {
    // Go's strings.Replace with an empty `from` inserts `to` before every code point and at the end.
    const cps = [...s];
    const count = n < 0n || n > BigInt(cps.length + 1) ? cps.length + 1 : Number(n);
    let out = '';
    for (let i = 0; i <= cps.length; i++) {
      if (i < count) out += to;
      if (i < cps.length) out += cps[i];
    }
    return out;
  }
  if (n < 0n) return s.split(from).join(to);
  let out = '';
  let rest = s;
  for (let k = 0n; k < n; k++) {
    const at = rest.indexOf(from);
    if (at < 0) break;
    out += rest.slice(0, at) + to;
    rest = rest.slice(at + from.length);
  }
  return out + rest;
}

function celQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    switch (ch) {
      case '\x07': out += '\\a'; break;
      case '\b': out += '\\b'; break;
      case '\f': out += '\\f'; break;
      case '\n': out += '\\n'; break;
      case '\r': out += '\\r'; break;
      case '\t': out += '\\t'; break;
      case '\v': out += '\\v'; break;
      case '\\': out += '\\\\'; break;
      case '"': out += '\\"'; break;
      default: {
        const cp = ch.codePointAt(0)!;
        out += cp >= 0xd800 && cp <= 0xdfff ? '\ufffd' : ch;
      }
    }
  }
  return `${out}"`;
}

function base64Decode(s: string): Uint8Array {
  // cel-go accepts padded and unpadded standard base64 and nothing else.
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || (s.includes('=') && s.length % 4 !== 0) || s.length % 4 === 1) {
    throw new Error('illegal base64 data');
  }
  return new Uint8Array(Buffer.from(s, 'base64'));
}

function celEqual(a: unknown, b: unknown): boolean {
  if ((typeof a === 'bigint' || typeof a === 'number') && (typeof b === 'bigint' || typeof b === 'number')) return Number(a) === Number(b);
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.from(a).equals(Buffer.from(b));
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => celEqual(x, b[i]));
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const ea = a instanceof Map ? [...a.entries()] : Object.entries(a);
    const mb = b instanceof Map ? b : new Map(Object.entries(b));
    return ea.length === mb.size && ea.every(([k, v]) => mb.has(k) && celEqual(v, mb.get(k)));
  }
  return a === b;
}

/** cel-go's string.format for the common clauses: %s %d %f %e %b %o %x %X %%, with an optional precision. */
function celFormat(fmt: string, args: unknown[]): string {
  let out = '';
  let argi = 0;
  for (let i = 0; i < fmt.length; i++) {
    const c = fmt[i]!;
    if (c !== '%') {
      out += c;
      continue;
    }
    if (fmt[i + 1] === '%') {
      out += '%';
      i++;
      continue;
    }
    const m = /^(?:\.(\d+))?([sdfeboxX])/.exec(fmt.slice(i + 1));
    if (!m) throw new Error(`could not parse formatting clause: unrecognized formatting clause "${fmt.slice(i + 1, i + 2)}"`);
    if (argi >= args.length) throw new Error(`index ${argi} out of range`);
    const arg = args[argi++];
    const precision = m[1] === undefined ? undefined : Number(m[1]);
    out += formatClause(m[2]!, arg, precision);
    i += m[0].length;
  }
  return out;
}

function formatClause(verb: string, arg: unknown, precision: number | undefined): string {
  const isInt = typeof arg === 'bigint';
  const isNum = isInt || typeof arg === 'number';
  switch (verb) {
    case 's': return celToString(arg);
    case 'd':
      if (!isInt) throw new Error(`error during formatting: decimal clause can only be used on integers, was given ${celTypeOf(arg)}`);
      return String(arg);
    case 'f':
      if (!isNum) throw new Error(`error during formatting: fixed-point clause can only be used on doubles, was given ${celTypeOf(arg)}`);
      return Number(arg).toFixed(precision ?? 6);
    case 'e': {
      if (!isNum) throw new Error(`error during formatting: scientific clause can only be used on doubles, was given ${celTypeOf(arg)}`);
      return Number(arg).toExponential(precision ?? 6).replace(/e([+-])(\d)$/, 'e$10$2');
    }
    case 'b':
      if (typeof arg === 'boolean') return arg ? '1' : '0';
      if (!isInt) throw new Error(`error during formatting: only integers and bools can be formatted as binary, was given ${celTypeOf(arg)}`);
      return (arg as bigint).toString(2);
    case 'o':
      if (!isInt) throw new Error(`error during formatting: octal clause can only be used on integers, was given ${celTypeOf(arg)}`);
      return (arg as bigint).toString(8);
    default: {
      let hex: string;
      if (isInt) hex = (arg as bigint).toString(16);
      else if (typeof arg === 'string') hex = Buffer.from(arg, 'utf8').toString('hex');
      else if (arg instanceof Uint8Array) hex = Buffer.from(arg).toString('hex');
      else throw new Error(`error during formatting: only integers, byte buffers, and strings can be formatted as hex, was given ${celTypeOf(arg)}`);
      return verb === 'X' ? hex.toUpperCase() : hex;
    }
  }
}

function celTypeOf(v: unknown): string {
  if (v === null || v === undefined) return 'null_type';
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'number') return 'double';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (v instanceof Uint8Array) return 'bytes';
  if (Array.isArray(v)) return 'list';
  return 'map';
}

function celToString(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (typeof v === 'number') return String(v);
  if (v instanceof Uint8Array) return Buffer.from(v).toString('utf8');
  if (v instanceof Date) return v.toISOString().replace(/\.000Z$/, 'Z');
  if (Array.isArray(v)) return `[${v.map(celToStringQuoted).join(', ')}]`;
  const entries = v instanceof Map ? [...v.entries()] : Object.entries(v as object);
  entries.sort((x, y) => (String(x[0]) < String(y[0]) ? -1 : 1));
  return `{${entries.map(([k, val]) => `${celToStringQuoted(k)}: ${celToStringQuoted(val)}`).join(', ')}}`;
}

function celToStringQuoted(v: unknown): string {
  return typeof v === 'string' ? celQuote(v) : celToString(v);
}
