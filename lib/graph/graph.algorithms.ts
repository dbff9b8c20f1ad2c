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
export function edgesThroughHiddenNodes(adjacency: ReadonlyArray<readonly number[]>, sources: readonly number[], keep: (i: number) => boolean): number[][] {
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

/**
 * What `edgesThroughHiddenNodes` gives when every node is kept, without the
 * walk: each list without self-loops and repeats, in the order the walk
 * meets them (last first). A list of one edge (most of them) is shared, not copied.
 */
export function distinctEdges(adjacency: ReadonlyArray<readonly number[]>): number[][] {
  const result = new Array<number[]>(adjacency.length);
  const seenFrom = new Int32Array(adjacency.length).fill(-1);
  for (let v = 0; v < adjacency.length; v++) {
    const list = adjacency[v];
    if (list.length === 0 || (list.length === 1 && list[0] !== v)) {
      result[v] = list as number[];
      continue;
    }
    const kept: number[] = [];
    seenFrom[v] = v;
    for (let k = list.length - 1; k >= 0; k--) {
      const w = list[k];
      if (seenFrom[w] === v) continue;
      seenFrom[w] = v;
      kept.push(w);
    }
    result[v] = kept;
  }
  return result;
}

/**
 * Tarjan's strongly connected components over `members`: a component id per
 * node (-1 for others). Iterative, its stacks typed arrays: no allocation per node.
 */
export function stronglyConnectedComponents(adjacency: ReadonlyArray<readonly number[]>, members: readonly number[]): Int32Array {
  const n = adjacency.length;
  const index = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const onStack = new Uint8Array(n);
  const component = new Int32Array(n).fill(-1);
  // Tarjan's stack, and the walk's own: a node and the next of its edges to follow.
  const stack = new Int32Array(n);
  const walk = new Int32Array(n);
  const nextEdge = new Int32Array(n);
  let top = 0;
  let depth = 0;
  let counter = 0;
  let components = 0;
  for (const root of members) {
    if (index[root] !== -1) continue;
    index[root] = low[root] = counter++;
    stack[top++] = root;
    onStack[root] = 1;
    walk[depth] = root;
    nextEdge[depth++] = 0;
    while (depth > 0) {
      const v = walk[depth - 1];
      const edges = adjacency[v];
      const next = nextEdge[depth - 1];
      if (next < edges.length) {
        nextEdge[depth - 1] = next + 1;
        const w = edges[next];
        if (index[w] === -1) {
          index[w] = low[w] = counter++;
          stack[top++] = w;
          onStack[w] = 1;
          walk[depth] = w;
          nextEdge[depth++] = 0;
        } else if (onStack[w] && index[w] < low[v]) low[v] = index[w];
        continue;
      }
      depth--;
      if (depth > 0) {
        const parent = walk[depth - 1];
        if (low[v] < low[parent]) low[parent] = low[v];
      }
      if (low[v] === index[v]) {
        let w: number;
        do {
          w = stack[--top];
          onStack[w] = 0;
          component[w] = components;
        } while (w !== v);
        components++;
      }
    }
  }
  return component;
}
