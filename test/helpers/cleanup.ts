// Closes what a test started (servers, proxies) after each test, so a failing assertion cannot leak a listener.
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
