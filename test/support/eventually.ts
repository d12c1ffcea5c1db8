/**
 * Waiting for something another process or a timer makes true: one polling
 * loop for every test, instead of a hand-rolled `while (Date.now() < deadline)`
 * in each. A check that throws counts as "not yet".
 */
export interface EventuallyOptions {
  /** How long to keep asking; 20 s unless told. */
  timeoutMs?: number;
  /** Pause between two asks; 100 ms unless told. */
  everyMs?: number;
  /** Resolve false on timeout instead of throwing, for tests whose next assertion says what was expected. */
  orFalse?: boolean;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function eventually(check: () => boolean | Promise<boolean>, options: EventuallyOptions = {}): Promise<boolean> {
  const { timeoutMs = 20_000, everyMs = 100, orFalse = false } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (
      await Promise.resolve()
        .then(check)
        .catch(() => false)
    )
      return true;
    if (Date.now() >= deadline) {
      if (orFalse) return false;
      throw new Error(`condition not reached within ${timeoutMs} ms`);
    }
    await sleep(everyMs);
  }
}
