// Secret `headers` as sigs.k8s.io/yaml decodes them into map[string]string: YAML 1.1 scalars stringified as Go does, nested values rejected.
import { isAlias, isMap, isScalar, isSeq, parseAllDocuments, type Document, type Node as YamlNode } from 'yaml';

/** Parses the `headers` key; throws with an error text modelled on sigs.k8s.io/yaml's. */
export function parseHeadersYaml(text: string): Record<string, string> {
  const docs = parseAllDocuments(text, { schema: 'failsafe', uniqueKeys: false, merge: false, prettyErrors: false });
  const doc = (Array.isArray(docs) ? docs[0] : undefined) as Document | undefined;
  if (!doc) return {};
  if (doc.errors.length > 0) throw new Error(`error converting YAML to JSON: yaml: ${doc.errors[0]!.message}`);
  const root = deref(doc, doc.contents as YamlNode | null);
  if (root === null || (isScalar(root) && isYamlNull(root))) return {};
  if (!isMap(root)) {
    throw new Error(`error unmarshaling JSON: while decoding JSON: json: cannot unmarshal ${jsonKind(doc, root)} into Go value of type map[string]string`);
  }
  const out: Record<string, string> = {};
  for (const pair of root.items) {
    const key = deref(doc, pair.key as YamlNode | null);
    const value = deref(doc, pair.value as YamlNode | null);
    let name: string;
    if (key === null) name = 'null';
    else if (isScalar(key)) name = scalarToString(key) ?? 'null';
    else throw new Error('error converting YAML to JSON: yaml: invalid map key: a header name must be a scalar');
    if (value === null) {
      out[name] = '';
      continue;
    }
    if (!isScalar(value)) {
      throw new Error(`error unmarshaling JSON: while decoding JSON: json: cannot unmarshal ${jsonKind(doc, value)} into Go value of type string`);
    }
    out[name] = scalarToString(value) ?? '';
  }
  return out;
}

function deref(doc: Document, node: YamlNode | null | undefined): YamlNode | null {
  let n = node ?? null;
  for (let i = 0; n !== null && isAlias(n) && i < 100; i++) n = (n.resolve(doc) as YamlNode | undefined) ?? null;
  return n;
}

function jsonKind(doc: Document, node: YamlNode): string {
  if (isMap(node)) return 'object';
  if (isSeq(node)) return 'array';
  if (isScalar(node)) {
    const v = resolvePlain(node);
    if (typeof v === 'number' || typeof v === 'bigint') return 'number';
    if (typeof v === 'boolean') return 'bool';
    return 'string';
  }
  void doc;
  return 'value';
}

type Resolved = string | number | bigint | boolean | null;

function isYamlNull(node: YamlNode): boolean {
  return isScalar(node) && resolvePlain(node) === null;
}

/** go-yaml v2's resolve() for plain scalars; quoted scalars and explicit `!!str` stay strings. */
function resolvePlain(node: YamlNode): Resolved {
  if (!isScalar(node)) return null;
  const raw = String(node.value ?? '');
  const quoted = node.type !== undefined && node.type !== 'PLAIN';
  if (quoted || node.tag === 'tag:yaml.org,2002:str' || node.tag === 'tag:yaml.org,2002:binary') return raw;
  if (raw === '' || raw === '~' || raw === 'null' || raw === 'Null' || raw === 'NULL') return null;
  if (['y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON'].includes(raw)) return true;
  if (['n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF'].includes(raw)) return false;
  if (['.nan', '.NaN', '.NAN'].includes(raw)) return NaN;
  if (['.inf', '.Inf', '.INF', '+.inf', '+.Inf', '+.INF'].includes(raw)) return Infinity;
  if (['-.inf', '-.Inf', '-.INF'].includes(raw)) return -Infinity;
  const first = raw[0]!;
  if (first === '.') {
    const f = goParseFloat(raw);
    return f === undefined ? raw : f;
  }
  if (first === '+' || first === '-' || (first >= '0' && first <= '9')) {
    const plain = raw.replaceAll('_', '');
    const i = goParseInt(plain);
    if (i !== undefined) return i;
    if (/^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/.test(plain)) {
      const f = goParseFloat(plain);
      if (f !== undefined) return f;
    }
    const bin = /^(-?)0b([01]+)$/.exec(plain);
    if (bin) return BigInt(`${bin[1]}0b${bin[2]}`) as bigint;
  }
  return raw;
}

/** strconv.ParseInt(s, 0, 64), then ParseUint(s, 0, 64): 0x/0o/0b prefixes and leading-zero octal. */
function goParseInt(s: string): bigint | undefined {
  const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/.exec(s);
  if (!m) return undefined;
  const body = m[2]!;
  let magnitude: bigint;
  if (/^0[oO]/.test(body)) magnitude = BigInt(`0o${body.slice(2)}`);
  else if (/^0[xXbB]/.test(body)) magnitude = BigInt(body.toLowerCase());
  else if (body.length > 1 && body[0] === '0') magnitude = BigInt(`0o${body.slice(1)}`);
  else magnitude = BigInt(body);
  if (m[1] === '-') return magnitude <= 2n ** 63n ? -magnitude : undefined;
  // ParseUint takes no sign, so a '+' keeps the value within int64.
  const max = m[1] === '+' ? 2n ** 63n - 1n : 2n ** 64n - 1n;
  return magnitude <= max ? magnitude : undefined;
}

function goParseFloat(s: string): number | undefined {
  if (!/^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/.test(s)) return undefined;
  const f = Number(s);
  return Number.isNaN(f) ? undefined : f;
}

/** The string sigs.k8s.io/yaml produces for a scalar bound to a Go string; undefined for null. */
function scalarToString(node: YamlNode): string | undefined {
  const v = resolvePlain(node);
  if (v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'bigint') return v.toString();
  return formatFloat32(v);
}

/** strconv.FormatFloat(f, 'g', -1, 32): the shortest digits that round-trip as float32. */
export function formatFloat32(f: number): string {
  if (Number.isNaN(f)) return 'NaN';
  const x = Math.fround(f);
  if (x === Infinity) return '+Inf';
  if (x === -Infinity) return '-Inf';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  let digits = '';
  let exp = 0;
  for (let p = 1; p <= 9; p++) {
    const s = Math.abs(x).toExponential(p - 1);
    if (Math.fround(Number(s)) === Math.abs(x)) {
      const [mant, e] = s.split('e');
      digits = mant!.replace('.', '');
      exp = Number(e);
      break;
    }
  }
  digits = digits.replace(/0+$/, '') || '0';
  const sign = x < 0 ? '-' : '';
  // Go's shortest %g switches to exponent form when exp < -4 || exp >= 6.
  if (exp < -4 || exp >= 6) {
    const mant = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const es = Math.abs(exp).toString().padStart(2, '0');
    return `${sign}${mant}e${exp < 0 ? '-' : '+'}${es}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  if (digits.length <= exp + 1) return `${sign}${digits}${'0'.repeat(exp + 1 - digits.length)}`;
  return `${sign}${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
}

