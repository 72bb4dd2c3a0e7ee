/**
 * Greedy pair merging, the inner loop of both BPE flavours:
 * repeatedly merge the adjacent pair with the lowest priority, ties going to the leftmost pair.
 *
 * - GPT-2 BPE: priority = merge rank (encoder.py picks the min-rank bigram; merging its
 *   occurrences left to right one at a time gives the same result).
 * - SentencePiece-style (llama2.c run.c): priority = -score of the merged piece (run.c scans
 *   all pairs for the highest score, keeping the first on ties).
 *
 * run.c rescans the whole sequence after every merge (quadratic in the prompt length); this uses a
 * binary heap over a linked list with lazy invalidation, which picks exactly the same pair each step.
 */

export interface PairMerge<T> {
  readonly symbol: T;
  /** Lower merges first. */
  readonly priority: number;
}

interface Candidate<T> {
  readonly priority: number;
  readonly left: number;
  readonly right: number;
  readonly leftVersion: number;
  readonly rightVersion: number;
  readonly symbol: T;
}

/** Heap order: priority ascending, then leftmost position (node index order = sequence order). */
const before = <T>(a: Candidate<T>, b: Candidate<T>): boolean =>
  a.priority < b.priority || (a.priority === b.priority && a.left < b.left);

class CandidateHeap<T> {
  private readonly items: Candidate<T>[] = [];
  get size(): number {
    return this.items.length;
  }
  push(c: Candidate<T>): void {
    const items = this.items;
    items.push(c);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(items[i]!, items[parent]!)) break;
      [items[i], items[parent]] = [items[parent]!, items[i]!];
      i = parent;
    }
  }
  pop(): Candidate<T> | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < items.length && before(items[l]!, items[m]!)) m = l;
        if (r < items.length && before(items[r]!, items[m]!)) m = r;
        if (m === i) break;
        [items[i], items[m]] = [items[m]!, items[i]!];
        i = m;
      }
    }
    return top;
  }
}

/**
 * Merge `symbols` greedily. `tryMerge(left, right)` returns the merged symbol and its priority, or
 * undefined when the pair cannot merge. Returns the final symbol sequence.
 */
export const mergePairs = <T>(
  symbols: readonly T[],
  tryMerge: (left: T, right: T) => PairMerge<T> | undefined,
): T[] => {
  const n = symbols.length;
  if (n < 2) return symbols.slice();
  const sym = symbols.slice();
  const next = new Int32Array(n);
  const prev = new Int32Array(n);
  const version = new Int32Array(n); // bumped whenever a node's symbol changes; -1 once it is merged away
  for (let i = 0; i < n; i++) {
    next[i] = i + 1 < n ? i + 1 : -1;
    prev[i] = i - 1;
  }
  const heap = new CandidateHeap<T>();
  const consider = (left: number, right: number): void => {
    if (left < 0 || right < 0) return;
    const m = tryMerge(sym[left]!, sym[right]!);
    if (m === undefined) return;
    heap.push({
      priority: m.priority,
      left,
      right,
      leftVersion: version[left]!,
      rightVersion: version[right]!,
      symbol: m.symbol,
    });
  };
  for (let i = 0; i + 1 < n; i++) consider(i, i + 1);

  while (heap.size > 0) {
    const c = heap.pop()!;
    // Stale if either node changed or was merged away since this candidate was pushed.
    if (version[c.left] !== c.leftVersion || version[c.right] !== c.rightVersion) continue;
    if (next[c.left] !== c.right) continue;
    sym[c.left] = c.symbol;
    version[c.left]!++;
    version[c.right] = -1;
    const after = next[c.right]!;
    next[c.left] = after;
    if (after >= 0) prev[after] = c.left;
    consider(prev[c.left]!, c.left);
    consider(c.left, after);
  }

  const out: T[] = [];
  for (let i = 0; i >= 0; i = next[i]!) out.push(sym[i]!);
  return out;
};
