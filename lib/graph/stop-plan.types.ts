/** The stop plan's data: plain values, no Nest. */

/** One `@OnShutdown()` method. */
export interface HookSpec {
  /** Unique within the graph. */
  key: string;
  /** `Class.method`, for logs and reports. */
  name: string;
  order: number;
  timeoutMs: number;
  /** Runs in the final phase, planned apart from the others. */
  final?: boolean;
}

/** A provider, with or without hooks. Hooks in declaration order. */
export interface ProviderNode {
  id: string;
  /** The class name, for messages. */
  name: string;
  hooks: HookSpec[];
}

/** `dependent` was given `dependency` by the injector. */
export interface DependencyEdge {
  dependent: string;
  dependency: string;
}

/** Providers in registration order, and their dependencies. */
export interface ProviderGraph {
  nodes: ProviderNode[];
  edges: DependencyEdge[];
}

/**
 * The same graph with its edges as node indices, as the explorer builds it:
 * `dependencies[i]` lists the nodes that node `i` was given by the injector.
 * No id is looked up and no edge object is built, which counts at 16,000
 * providers.
 */
export interface IndexedProviderGraph {
  nodes: ProviderNode[];
  dependencies: ReadonlyArray<readonly number[]>;
}

/** The hooks of one provider in one phase; they run one after another. */
export interface StopUnit {
  id: string;
  provider: string;
  name: string;
  order: number;
  hooks: HookSpec[];
  /** Units of the same phase that must have ended before this one starts. */
  after: string[];
  /** 0 for units that wait for nothing, else one more than the latest unit waited for. */
  wave: number;
}

export interface StopPhase {
  order: number;
  /** Units by wave, then registration order. */
  units: StopUnit[];
}

export interface PlanWarning {
  kind: 'cycle' | 'order-conflict';
  classes: string[];
  message: string;
}

export interface StopPlan {
  phases: StopPhase[];
  /** What the caller shows at startup, or (with `strict`) refuses to start with. */
  warnings: PlanWarning[];
  /** The longest chain of hook timeouts, summed over the phases: the worst case if every hook times out. */
  worstCaseMs: number;
}

export const EMPTY_PLAN: StopPlan = { phases: [], warnings: [], worstCaseMs: 0 };
