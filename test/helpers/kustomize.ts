// `kubectl kustomize` for manifest tests: whether kubectl is installed, and a directory rendered to plain objects.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from './herald-process.js';

// Rendered manifests are free-form YAML; the assertions are the type checks.
export type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export const hasKubectl = (() => {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
})();

/** The objects `kubectl kustomize <repo>/<dir>` renders. */
export function kustomize(dir: string): Obj[] {
  return parseAllDocuments(execFileSync('kubectl', ['kustomize', path.join(repoRoot, dir)], { encoding: 'utf8', timeout: 30_000 }))
    .map((d) => d.toJS() as Obj);
}
