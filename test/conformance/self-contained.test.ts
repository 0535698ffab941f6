// The suite travels with the repository: no test reads the shared folder beside a checkout or an absolute path of one machine.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/herald-process.js';

function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) out.push(...files(full));
    else if (/\.(ts|mts|mjs|js)$/.test(name)) out.push(full);
  }
  return out;
}

// Built from parts so that this file does not match itself.
const SHARED = ['..', 'shared'].join('/');
const MACHINE_PATHS = [['', 'work', ''].join('/'), ['', 'home', ''].join('/'), ['', 'root', ''].join('/'), ['', 'Users', ''].join('/')];

export function outsideReferences(text: string): string[] {
  const found: string[] = [];
  if (text.includes(SHARED)) found.push(SHARED);
  for (const p of MACHINE_PATHS) {
    // A path in a string literal: quote or backtick right before it.
    if (new RegExp(`['"\`]${p.replace(/\//g, '\\/')}`).test(text)) found.push(p);
  }
  return found;
}

describe('tests run from a plain clone', () => {
  it('recognises a reference to the shared folder and to an absolute machine path', () => {
    expect(outsideReferences(`const d = path.resolve(root, '${SHARED}/fixtures');`)).toEqual([SHARED]);
    expect(outsideReferences(`const F = '${MACHINE_PATHS[0]}${['sha', 'red'].join('')}/x';`)).toEqual([MACHINE_PATHS[0]]);
    expect(outsideReferences("const u = 'http://127.0.0.1/work/x';")).toEqual([]);
  });

  it('no file under test/ or bench/ reads outside the repository', () => {
    const offenders = [...files(path.join(repoRoot, 'test')), ...files(path.join(repoRoot, 'bench'))]
      .map((f) => ({ file: path.relative(repoRoot, f), refs: outsideReferences(readFileSync(f, 'utf8')) }))
      .filter((o) => o.refs.length > 0);
    expect(offenders).toEqual([]);
  });
});
