/**
 * A lock shared by every instance that uses the same session store, so only one instance refreshes a
 * given session's tokens at a time (refresh-token rotation must never see a token used twice).
 */
export interface SessionLock {
  /** Runs `fn` while holding the lock named `key`; waits (bounded) while another holder has it. */
  run<T>(key: string, fn: () => Promise<T>): Promise<T>;
}
