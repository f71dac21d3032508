// Temporary changes to this process's environment, for tests that point an SDK somewhere.

/**
 * Unsets `unset` and sets `set` in this process's environment; returns the function that puts
 * every one of those variables back as it was.
 */
export function withEnv(unset: readonly string[], set: Record<string, string>): () => void {
  const keys = [...new Set([...unset, ...Object.keys(set)])];
  const saved = Object.fromEntries(keys.map((k) => [k, process.env[k]]));
  for (const k of unset) delete process.env[k];
  Object.assign(process.env, set);
  return () => {
    for (const k of keys) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  };
}
