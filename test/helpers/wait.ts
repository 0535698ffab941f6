// Polling helper for tests that wait on another process: resolves when the condition holds, fails with what it waited for.
export async function until(cond: () => Promise<boolean> | boolean, timeoutMs = 5000, what = 'condition', intervalMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
