/**
 * Generic algorithms on directed graphs given as adjacency lists of node
 * indices. Iterative throughout, so that a long dependency chain cannot
 * overflow the call stack.
 */

/**
 * The graph seen through a filter: for every source, the kept nodes it
 * reaches through nodes that are not kept, each path through hidden nodes
 * turned into one edge.
 */
export function edgesThroughHiddenNodes(adjacency: number[][], sources: number[], keep: (i: number) => boolean): number[][] {
  const result: number[][] = adjacency.map(() => []);
  const seenFrom = new Int32Array(adjacency.length).fill(-1);
  for (const source of sources) {
    seenFrom[source] = source;
    const stack = [...adjacency[source]];
    while (stack.length > 0) {
      const v = stack.pop()!;
      if (seenFrom[v] === source) continue;
      seenFrom[v] = source;
      if (keep(v)) result[source].push(v);
      else for (const w of adjacency[v]) stack.push(w);
    }
  }
  return result;
}

/** Tarjan's strongly connected components over `members`: a component id per node (-1 for others). */
export function stronglyConnectedComponents(adjacency: number[][], members: number[]): Int32Array {
  const n = adjacency.length;
  const index = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const onStack = new Uint8Array(n);
  const component = new Int32Array(n).fill(-1);
  const stack: number[] = [];
  let counter = 0;
  let components = 0;
  for (const root of members) {
    if (index[root] !== -1) continue;
    const work: Array<[number, number]> = [[root, 0]];
    while (work.length > 0) {
      const frame = work[work.length - 1];
      const [v, next] = frame;
      if (next === 0) {
        index[v] = low[v] = counter++;
        stack.push(v);
        onStack[v] = 1;
      }
      if (next < adjacency[v].length) {
        frame[1] = next + 1;
        const w = adjacency[v][next];
        if (index[w] === -1) work.push([w, 0]);
        else if (onStack[w]) low[v] = Math.min(low[v], index[w]);
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1][0];
        low[parent] = Math.min(low[parent], low[v]);
      }
      if (low[v] === index[v]) {
        let w: number;
        do {
          w = stack.pop()!;
          onStack[w] = 0;
          component[w] = components;
        } while (w !== v);
        components++;
      }
    }
  }
  return component;
}

/** A node of a DAG: its id and the ids it comes after. */
export interface Layered {
  id: string;
  after: string[];
}

/**
 * Longest-path layering of a DAG: 0 for nodes that come after nothing, else
 * one more than the highest layer they come after.
 */
export function longestPathLayers<T extends Layered>(nodes: T[]): Map<string, number> {
  const byId = new Map(nodes.map((node) => [node.id, node]));
  const layer = new Map<string, number>();
  for (const node of nodes) {
    const pending: Layered[] = [node];
    while (pending.length > 0) {
      const top = pending[pending.length - 1];
      if (layer.has(top.id)) {
        pending.pop();
        continue;
      }
      const open = top.after.map((id) => byId.get(id)!).filter((other) => !layer.has(other.id));
      if (open.length > 0) {
        pending.push(...open);
        continue;
      }
      pending.pop();
      layer.set(top.id, top.after.length === 0 ? 0 : 1 + Math.max(...top.after.map((id) => layer.get(id)!)));
    }
  }
  return layer;
}

/** The heaviest path through a DAG whose nodes are given in an order where each comes after those it waits for. */
export function heaviestPath<T extends Layered>(nodes: T[], weight: (node: T) => number): number {
  const finish = new Map<string, number>();
  let heaviest = 0;
  for (const node of nodes) {
    const end = Math.max(0, ...node.after.map((id) => finish.get(id)!)) + weight(node);
    finish.set(node.id, end);
    heaviest = Math.max(heaviest, end);
  }
  return heaviest;
}
