import type { HookCall } from '../discovery/shutdown-hook.explorer.js';
import type { HookWrapper } from '../shutdown/shutdown.sequence.js';

/** A fault the testing utilities inject into a hook, by `Class.method`. */
export interface HookFault {
  /** Run the hook this much later. */
  delayMs?: number;
  /** Fail the hook with this error (or an Error with this message) instead of running it. */
  throws?: string | Error;
  /** Never let the hook settle: it ends only at its timeout or the deadline. */
  hang?: boolean;
}

/** Calls each hook named in `faults` with its fault, the others as they are. */
export function withFaults(faults: Record<string, HookFault>): HookWrapper {
  return (name: string, call: HookCall): HookCall => {
    const fault = faults[name];
    if (!fault) return call;
    return async (context) => {
      if (fault.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
      if (fault.hang) return new Promise(() => undefined);
      if (fault.throws !== undefined) throw typeof fault.throws === 'string' ? new Error(fault.throws) : fault.throws;
      return call(context);
    };
  };
}
