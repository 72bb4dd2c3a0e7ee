import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { mergePairs } from "./merge.ts";

/** The O(n²) reference: rescan every pair, merge the lowest priority, first on ties (run.c / encoder.py). */
const naiveMerge = (symbols: readonly string[], table: ReadonlyMap<string, number>): string[] => {
  const s = symbols.slice();
  for (;;) {
    let best = Number.POSITIVE_INFINITY;
    let at = -1;
    for (let i = 0; i + 1 < s.length; i++) {
      const p = table.get(`${s[i]}|${s[i + 1]}`);
      if (p !== undefined && p < best) {
        best = p;
        at = i;
      }
    }
    if (at < 0) return s;
    s.splice(at, 2, s[at]! + s[at + 1]!);
  }
};

describe("mergePairs (heap merge loop)", () => {
  it("merges lowest priority first, leftmost on ties", () => {
    const table = new Map([
      ["a|a", 0],
      ["b|c", 1],
      ["aa|a", 2],
    ]);
    const tryMerge = (l: string, r: string) => {
      const p = table.get(`${l}|${r}`);
      return p === undefined ? undefined : { symbol: l + r, priority: p };
    };
    expect(mergePairs(["a", "a", "a"], tryMerge)).toEqual(["aaa"]);
    expect(mergePairs(["a", "a", "a", "a"], tryMerge)).toEqual(["aa", "aa"]);
    expect(mergePairs(["b", "c", "a"], tryMerge)).toEqual(["bc", "a"]);
    expect(mergePairs([], tryMerge)).toEqual([]);
    expect(mergePairs(["x"], tryMerge)).toEqual(["x"]);
  });

  it("agrees with the naive rescan on random sequences and priority tables (with ties)", () => {
    const alphabet = ["a", "b", "c", "ab", "bc", "abc", "ca"];
    const pairs = alphabet.flatMap((l) => alphabet.map((r) => `${l}|${r}`));
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...["a", "b", "c"]), { maxLength: 40 }),
        fc.array(fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }), {
          minLength: pairs.length,
          maxLength: pairs.length,
        }),
        (symbols, priorities) => {
          const table = new Map<string, number>();
          pairs.forEach((k, i) => {
            const p = priorities[i];
            if (p !== undefined) table.set(k, p);
          });
          const got = mergePairs(symbols, (l, r) => {
            const p = table.get(`${l}|${r}`);
            return p === undefined ? undefined : { symbol: l + r, priority: p };
          });
          expect(got).toEqual(naiveMerge(symbols, table));
        },
      ),
      { numRuns: 2000 },
    );
  });
});
