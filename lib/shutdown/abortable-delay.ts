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

/** Resolves as `work` settles, or as soon as `signal` aborts (then with undefined). Never rejects. */
export async function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) return undefined;
  const done = new AbortController();
  const settled = work.then(
    (value) => value,
    () => undefined,
  );
  const aborted = abortableDelay(2 ** 31 - 1, signal, done.signal).then(() => undefined);
  try {
    return await Promise.race([settled, aborted]);
  } finally {
    done.abort();
  }
}
