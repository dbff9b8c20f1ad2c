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
  // Nodes that are not sources get no list of their own: they share one that stays empty.
  const result: number[][] = new Array<number[]>(adjacency.length).fill(NO_EDGES);
  const seenFrom = new Int32Array(adjacency.length).fill(-1);
  const stack: number[] = [];
  for (const source of sources) {
    const reached: number[] = (result[source] = []);
    seenFrom[source] = source;
    for (const w of adjacency[source]) stack.push(w);
    while (stack.length > 0) {
      const v = stack.pop()!;
      if (seenFrom[v] === source) continue;
      seenFrom[v] = source;
      if (keep(v)) reached.push(v);
      else for (const w of adjacency[v]) stack.push(w);
    }
  }
  return result;
}

const NO_EDGES: number[] = Object.freeze([]) as unknown as number[];

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
