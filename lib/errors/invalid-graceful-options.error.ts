/** Invalid `GracefulModule` options or `@OnShutdown()` usage, found at startup. */
export class InvalidGracefulOptionsError extends Error {
  override readonly name = 'InvalidGracefulOptionsError';
}
