/** The abort reason of a hook whose time is up. */
export class HookTimeoutError extends Error {
  override readonly name = 'HookTimeoutError';
}
