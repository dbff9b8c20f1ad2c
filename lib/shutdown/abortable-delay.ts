/**
 * Resolves after `ms`, or as soon as one of `signals` aborts. (Not through
 * AbortSignal.any(), whose dependent signals Node 20 keeps alive.)
 */
export function abortableDelay(ms: number, ...signals: AbortSignal[]): Promise<void> {
  if (signals.some((signal) => signal.aborted)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      for (const signal of signals) signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    for (const signal of signals) signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * Resolves as `work` settles, or as soon as `signal` aborts (then with
 * undefined). Never rejects: a rejection of `work` goes to `onError`.
 */
export async function untilAborted<T>(work: Promise<T>, signal: AbortSignal, onError: (error: unknown) => void = () => undefined): Promise<T | undefined> {
  if (signal.aborted) return undefined;
  let onAbort: () => void = () => undefined;
  const aborted = new Promise<undefined>((resolve) => {
    onAbort = () => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([
      work.catch((error: unknown) => {
        onError(error);
        return undefined;
      }),
      aborted,
    ]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
