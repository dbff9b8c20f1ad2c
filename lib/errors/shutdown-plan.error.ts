/** A dependency cycle or an order conflict, with `strict: true`. */
export class ShutdownPlanError extends Error {
  override readonly name = 'ShutdownPlanError';
}
