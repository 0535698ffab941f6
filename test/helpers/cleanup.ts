// Closes what a test started (servers, proxies) after each test, so a failing assertion cannot leak a listener.
import { getCACertificates, setDefaultCACertificates } from 'node:tls';
import { afterEach } from 'vitest';

export interface Closable {
  close(): Promise<unknown> | unknown;
}

/** Registers an afterEach hook and returns `track`, which remembers a closable and returns it unchanged. */
export function closeAfterEach(): <T extends Closable>(item: T) => T {
  const items: Closable[] = [];
  afterEach(async () => {
    await Promise.all(items.splice(0).map((s) => s.close()));
  });
  return (item) => {
    items.push(item);
    return item;
  };
}

/**
 * Registers an afterEach hook that puts back the environment variables `keys` and the default CA certificates of this
 * test process as they were when it was called (for tests that point libraries at local endpoints through both).
 */
export function restoreEnvAndCaAfterEach(keys: readonly string[]): void {
  const savedEnv = Object.fromEntries(keys.map((k) => [k, process.env[k]]));
  const savedCa = getCACertificates('default');
  afterEach(() => {
    for (const k of keys) {
      if (savedEnv[k] === undefined) delete process.env[k];
      else process.env[k] = savedEnv[k];
    }
    setDefaultCACertificates(savedCa);
  });
}
