/**
 * Polls `check` until it returns a value other than undefined or false, and returns it. Not a timed assertion: the
 * deadline only keeps a broken run from hanging the suite, so it is long (a loaded CI machine is slow, never wrong).
 */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, deadlineMs = 60_000): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
