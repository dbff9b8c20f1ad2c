/**
 * The hooks running now, kept on the main thread for the deadline watchdog,
 * which reads them there only at the deadline. Every change is constant
 * work and every description is bounded: at most
 * `RUNNING_NAMES_SHOWN` names plus a count, however many hooks run at once
 * (8,000 hooks of 0 ms joined in full on every start and end cost seconds).
 */

/** How many hooks the watchdog's line and the deadline's message name; the rest are counted. */
export const RUNNING_NAMES_SHOWN = 20;

interface Entry {
  key: string;
  name: string;
  older?: Entry;
  newer?: Entry;
}

/** `names`, at most `shown` of them, then "and N more" when `total` is larger. */
export function namesAtMost(names: readonly string[], total = names.length, shown = RUNNING_NAMES_SHOWN): string[] {
  const named = names.slice(0, shown);
  return total > named.length ? [...named, `and ${total - named.length} more`] : named;
}

/** Running hooks by key, oldest first: a map for the lookups and a linked list for the order, so that nothing is ever scanned. */
export class RunningHooks {
  private readonly entries = new Map<string, Entry>();
  private oldest?: Entry;
  private newest?: Entry;

  get size(): number {
    return this.entries.size;
  }

  add(key: string, name: string): void {
    if (this.entries.has(key)) return;
    const entry: Entry = { key, name, older: this.newest };
    if (this.newest) this.newest.newer = entry;
    else this.oldest = entry;
    this.newest = entry;
    this.entries.set(key, entry);
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    if (entry.older) entry.older.newer = entry.newer;
    else this.oldest = entry.newer;
    if (entry.newer) entry.newer.older = entry.older;
    else this.newest = entry.older;
  }

  /**
   * At most `RUNNING_NAMES_SHOWN` names, the hook given by `first` (one just
   * starting, the likeliest to block the loop) before the oldest others,
   * then how many more run; undefined when none runs.
   */
  describe(first?: string): string | undefined {
    const firstEntry = first === undefined ? undefined : this.entries.get(first);
    if (this.entries.size === 0) return undefined;
    const names: string[] = firstEntry ? [firstEntry.name] : [];
    for (let entry = this.oldest; entry && names.length < RUNNING_NAMES_SHOWN; entry = entry.newer) {
      if (entry !== firstEntry) names.push(entry.name);
    }
    return namesAtMost(names, this.entries.size).join(', ');
  }

  /** `describe()` with the hook that started last first (the likeliest to block the loop): what the watchdog names at the deadline. */
  describeNewestFirst(): string | undefined {
    return this.describe(this.newest?.key);
  }
}
