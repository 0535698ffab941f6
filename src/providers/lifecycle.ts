// Process-wide provider resources released on shutdown (pooled HTTP agents, NATS connections).
const hooks: Array<() => Promise<void>> = [];

/** Providers with process-wide pools register how to drain them. */
export function onProviderShutdown(hook: () => Promise<void>): void {
  hooks.push(hook);
}

export async function closeProviderResources(): Promise<void> {
  await Promise.allSettled(hooks.map((h) => h()));
}
