import { type EdgeLayout, edgeLayout } from "@patchbay/core/edges";
import { gpt2SmallConfig } from "@patchbay/core/model";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { edgeCount } from "../graph/circuit.ts";
import { configArb, maskArb, scoresArb, shape } from "../graph/testing.ts";
import { greedy } from "./greedy.ts";
import { prune } from "./prune.ts";
import { byThreshold } from "./threshold.ts";
import { circuitAtFraction, edgesAtFraction, topN } from "./top-n.ts";

/**
 * A naive, independent component graph by names: node of an edge's destination is
 * `destination.node`; a kv node a{l}.kv{j} links on to the heads a{l}.h{h} with ⌊h/G⌋ = j.
 */
const naiveAdjacency = (layout: EdgeLayout, inGraph: Uint8Array) => {
  const out = new Map<string, Set<string>>();
  const link = (a: string, b: string) => {
    if (!out.has(a)) out.set(a, new Set());
    out.get(a)!.add(b);
  };
  for (const e of layout.edges)
    if (inGraph[e.index]) link(layout.sources[e.source]!.name, layout.destinations[e.destination]!.node);
  const heads = layout.sources.filter((s) => s.kind === "head");
  for (const d of layout.destinations) {
    const m = /^a(\d+)\.kv(\d+)$/.exec(d.node);
    if (!m) continue;
    const l = Number(m[1]);
    const j = Number(m[2]);
    const nHeads = heads.filter((h) => h.layer === l).length;
    const nKv = new Set(layout.destinations.filter((x) => x.layer === l && x.kind === "k").map((x) => x.node))
      .size;
    for (const h of heads)
      if (h.layer === l && Math.floor(h.head! / (nHeads / nKv)) === j) link(d.node, h.name);
  }
  return out;
};

const bfs = (adj: Map<string, Set<string>>, start: string): Set<string> => {
  const seen = new Set([start]);
  const queue = [start];
  while (queue.length)
    for (const n of adj.get(queue.shift()!) ?? []) if (!seen.has(n)) seen.add(n) && queue.push(n);
  return seen;
};

const reverse = (adj: Map<string, Set<string>>) => {
  const r = new Map<string, Set<string>>();
  for (const [a, bs] of adj) for (const b of bs) r.set(b, (r.get(b) ?? new Set()).add(a));
  return r;
};

/** Edges on an input → logits path, by BFS forward from input and backward from logits. */
const naiveOnPath = (layout: EdgeLayout, inGraph: Uint8Array): Uint8Array => {
  const adj = naiveAdjacency(layout, inGraph);
  const fwd = bfs(adj, "input");
  const bwd = bfs(reverse(adj), "logits");
  return Uint8Array.from(layout.edges, (e) =>
    inGraph[e.index] &&
    fwd.has(layout.sources[e.source]!.name) &&
    bwd.has(layout.destinations[e.destination]!.node)
      ? 1
      : 0,
  );
};

const layoutAndScores = configArb.chain((cfg) => {
  const layout = edgeLayout(cfg);
  return fc.tuple(fc.constant(layout), scoresArb(layout.edges.length));
});

describe("topN", () => {
  it("keeps exactly n edges, the best by key, ties to the lower index", () => {
    const layout = edgeLayout(shape({ nLayers: 1, nHeads: 1, mlp: false }));
    // edges: input->a0.h0<q>, <k>, <v>, input->logits, a0.h0->logits
    expect(layout.edges.length).toBe(5);
    const scores = Float64Array.from([1, -3, 2, 2, 0]);
    const pick = (n: number, absolute: boolean) => [...topN(layout, scores, n, { absolute }).inGraph];
    expect(pick(1, true)).toEqual([0, 1, 0, 0, 0]);
    expect(pick(1, false)).toEqual([0, 0, 1, 0, 0]); // tie 2 = 2: lower index
    expect(pick(2, false)).toEqual([0, 0, 1, 1, 0]);
    expect(pick(4, false)).toEqual([1, 0, 1, 1, 1]);
    expect(() => topN(layout, scores, 6, { absolute: true })).toThrow(RangeError);
    expect(() => topN(layout, scores.subarray(1), 1, { absolute: true })).toThrow(/5 entries/);
  });

  it("property: exactly n edges, equal to a naive rank count (ties to the lower index)", () => {
    fc.assert(
      fc.property(
        layoutAndScores,
        fc.boolean(),
        fc.double({ min: 0, max: 1, noNaN: true }),
        ([layout, s], absolute, f) => {
          const n = Math.round(f * layout.edges.length);
          const c = topN(layout, s, n, { absolute });
          expect(edgeCount(c.inGraph)).toBe(n);
          const key = (i: number) => (absolute ? Math.abs(s[i]!) : s[i]!);
          // naive: edge i is chosen iff fewer than n edges rank before it (greater key, or equal key and lower index)
          for (let i = 0; i < s.length; i++) {
            let ahead = 0;
            for (let j = 0; j < s.length; j++) if (key(j) > key(i) || (key(j) === key(i) && j < i)) ahead++;
            expect(c.inGraph[i]).toBe(ahead < n ? 1 : 0);
          }
          // deterministic
          expect(topN(layout, s, n, { absolute }).inGraph).toEqual(c.inGraph);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("NaN scores rank last", () => {
    const layout = edgeLayout(shape({ nLayers: 1, nHeads: 1, mlp: false }));
    const s = Float64Array.from([Number.NaN, -1, -2, -3, -4]);
    expect([...topN(layout, s, 4, { absolute: false }).inGraph]).toEqual([0, 1, 1, 1, 1]);
    expect([...byThreshold(layout, s, Number.NEGATIVE_INFINITY, { absolute: false }).inGraph]).toEqual([
      0, 1, 1, 1, 1,
    ]);
  });
});

describe("circuitAtFraction", () => {
  it("rounds fraction·#edges, at least one edge above 0; floor mimics MIB", () => {
    expect(edgesAtFraction(32_491, 0.001)).toBe(32);
    expect(edgesAtFraction(32_491, 0.005)).toBe(162);
    expect(edgesAtFraction(32_491, 0.005, "floor")).toBe(162);
    expect(edgesAtFraction(32_491, 0.0005)).toBe(16);
    expect(edgesAtFraction(32_491, 0.00155, "floor")).toBe(50);
    expect(edgesAtFraction(32_491, 0.00155)).toBe(50);
    expect(edgesAtFraction(32_491, 0.0000001)).toBe(1);
    expect(edgesAtFraction(32_491, 0)).toBe(0);
    expect(edgesAtFraction(32_491, 1)).toBe(32_491);
    expect(edgesAtFraction(10, 0.25)).toBe(3);
    expect(edgesAtFraction(10, 0.25, "floor")).toBe(2);
    expect(() => edgesAtFraction(10, 1.5)).toThrow(RangeError);
    const layout = edgeLayout(gpt2SmallConfig);
    const s = Float64Array.from(layout.edges, (e) => Math.sin(e.index));
    expect(edgeCount(circuitAtFraction(layout, s, 0.01, { absolute: true }).inGraph)).toBe(325);
  });
});

describe("byThreshold", () => {
  it("property: keeps exactly the edges with key ≥ τ", () => {
    fc.assert(
      fc.property(
        layoutAndScores,
        fc.boolean(),
        fc.double({ min: -4, max: 4, noNaN: true }),
        ([layout, s], absolute, tau) => {
          const c = byThreshold(layout, s, tau, { absolute });
          for (let i = 0; i < s.length; i++)
            expect(c.inGraph[i]).toBe((absolute ? Math.abs(s[i]!) : s[i]!) >= tau ? 1 : 0);
        },
      ),
    );
  });
});

describe("prune", () => {
  it("removes a dangling edge and keeps a complete path (serial and GQA)", () => {
    const layout = edgeLayout(shape({ nLayers: 2, nHeads: 4, nKvHeads: 2 }));
    const idx = (name: string) => layout.edges.findIndex((e) => e.name === name);
    const mask = new Uint8Array(layout.edges.length);
    // input -> kv1 of layer 1 -> (feeds a1.h2, a1.h3); a1.h3 -> logits : on a path through the kv node
    for (const n of ["input->a1.kv1<v>", "a1.h3->logits", "a0.h0->m1", "input->a0.h2<q>"]) mask[idx(n)] = 1;
    const kept = prune(layout, mask);
    const names = layout.edges.filter((e) => kept[e.index]).map((e) => e.name);
    // a0.h0 is never reached (no input edge); a0.h2 reaches nothing; m1 does not reach logits
    expect(names).toEqual(["input->a1.kv1<v>", "a1.h3->logits"]);
    // the kv node of the other group does not feed a1.h3
    const other = new Uint8Array(layout.edges.length);
    other[idx("input->a1.kv0<v>")] = 1;
    other[idx("a1.h3->logits")] = 1;
    expect(edgeCount(prune(layout, other))).toBe(0);
  });

  it("property: pruned ⊆ original, idempotent, and equal to the edges on input→logits paths (naive BFS)", () => {
    const arb = fc
      .tuple(
        configArb,
        fc.constantFrom("head" as const, "layer" as const),
        fc.double({ min: 0, max: 1, noNaN: true }),
      )
      .chain(([cfg, gran, density]) => {
        const layout = edgeLayout(cfg, gran);
        return fc.tuple(
          fc.constant(layout),
          maskArb(layout.edges.length).map((m) => {
            // thin the mask so that pruning has work to do
            const n = m.length;
            return m.map((b, i) => (b && ((i * 2654435761) % 1000) / 1000 < density ? 1 : 0)).slice(0, n);
          }),
        );
      });
    fc.assert(
      fc.property(arb, ([layout, mask]) => {
        const p = prune(layout, mask);
        for (let i = 0; i < mask.length; i++) if (p[i]) expect(mask[i]).toBe(1);
        expect(prune(layout, p)).toEqual(p);
        expect(p).toEqual(naiveOnPath(layout, mask));
      }),
      { numRuns: 200 },
    );
  });
});

describe("greedy", () => {
  it("grows from the logits: the first edge enters the logits, the next must enter a joined node", () => {
    const layout = edgeLayout(shape({ nLayers: 2, nHeads: 1 }));
    const idx = (name: string) => layout.edges.findIndex((e) => e.name === name);
    const s = new Float64Array(layout.edges.length);
    s[idx("input->a1.h0<q>")] = 100; // best, but a1.h0 is not in the circuit yet
    s[idx("a1.h0->logits")] = 1;
    s[idx("m0->logits")] = 0.5;
    const names = (n: number) =>
      layout.edges
        .filter((e) => greedy(layout, s, n, { absolute: true }).inGraph[e.index])
        .map((e) => e.name);
    expect(names(1)).toEqual(["a1.h0->logits"]);
    expect(names(2)).toEqual(["input->a1.h0<q>", "a1.h0->logits"]);
    // topN would have taken the unconnected edge first
    expect(topN(layout, s, 1, { absolute: true }).inGraph[idx("input->a1.h0<q>")]).toBe(1);
  });

  it("GQA: a joined head makes its group's kv edges candidates", () => {
    const layout = edgeLayout(shape({ nLayers: 2, nHeads: 2, nKvHeads: 1, mlp: false }));
    const idx = (name: string) => layout.edges.findIndex((e) => e.name === name);
    const s = new Float64Array(layout.edges.length);
    s[idx("a1.h1->logits")] = 2;
    s[idx("a0.h0->a1.kv0<k>")] = 1;
    const c = greedy(layout, s, 2, { absolute: false });
    expect(c.inGraph[idx("a1.h1->logits")]).toBe(1);
    expect(c.inGraph[idx("a0.h0->a1.kv0<k>")]).toBe(1);
  });

  it("property: n edges, each connected to the logits; n = #edges selects everything", () => {
    fc.assert(
      fc.property(
        layoutAndScores,
        fc.boolean(),
        fc.double({ min: 0, max: 1, noNaN: true }),
        ([layout, s], absolute, f) => {
          const n = Math.round(f * layout.edges.length);
          const c = greedy(layout, s, n, { absolute });
          expect(edgeCount(c.inGraph)).toBe(n);
          const bwd = bfs(reverse(naiveAdjacency(layout, c.inGraph)), "logits");
          for (const e of layout.edges)
            if (c.inGraph[e.index]) expect(bwd.has(layout.destinations[e.destination]!.node)).toBe(true);
          expect(edgeCount(greedy(layout, s, layout.edges.length, { absolute }).inGraph)).toBe(
            layout.edges.length,
          );
        },
      ),
      { numRuns: 150 },
    );
  });

  it("runs on GPT-2 small", () => {
    const layout = edgeLayout(gpt2SmallConfig);
    const s = Float64Array.from(layout.edges, (e) => Math.cos(e.index * 0.37));
    const c = greedy(layout, s, 3249, { absolute: true });
    expect(edgeCount(c.inGraph)).toBe(3249);
    const p = prune(layout, c.inGraph);
    expect(p).toEqual(naiveOnPath(layout, c.inGraph));
  });
});
