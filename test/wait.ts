// The one way tests wait for something to become true: bounded polling. A test that waits for
// "eventually" names what it waits for, so a timeout says what never happened; a test that needs
// "did not happen" waits for a positive signal (a counter, an event) instead of sleeping.

/**
 * Polls `check` until it returns something other than undefined/false and returns that; fails
 * after `ms` with `what` (a function is asked at that moment, so it can tell the last state it
 * saw) and the last error `check` threw.
 */
export async function waitFor<T>(what: string | (() => string), check: () => T | undefined | false | Promise<T | undefined | false>, ms = 15_000, every = 50): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${typeof what === 'function' ? what() : what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, every));
  }
}
