// Temporary config directories for end-to-end tests, and the smallest useful one: a generic Provider with its Alert.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';

/** Registers removal after the file's tests and returns a writer of `{ file: yaml }` into a fresh directory. */
export function tempConfigDirs(prefix = 'herald-'): (files: Record<string, string>) => string {
  const dirs: string[] = [];
  afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });
  return (files) => {
    const dir = mkdtempSync(path.join(tmpdir(), prefix));
    dirs.push(dir);
    for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
    return dir;
  };
}

/** A generic Provider `name` posting to `address`, and an Alert `all` sending it every event of `kind` in flux-system. */
export function webhookForKind(name: string, address: string, kind: string): string {
  return `apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata: { name: ${name}, namespace: flux-system }
spec: { type: generic, address: '${address}' }
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata: { name: all, namespace: flux-system }
spec:
  providerRef: { name: ${name} }
  eventSources: [{ kind: ${kind}, name: '*' }]
`;
}
