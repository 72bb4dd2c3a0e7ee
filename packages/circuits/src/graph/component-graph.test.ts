import { edgeLayout } from "@patchbay/core/edges";
import { gpt2SmallConfig } from "@patchbay/core/model";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { componentGraph } from "./component-graph.ts";
import { configArb, shape } from "./testing.ts";

/**
 * Edges of serial blocks with MLPs (docs/methods.md#the-component-graph):
 * Σ_l [3H(1 + l(H+1)) + (1 + l(H+1) + H)] + (1 + L(H+1)).
 */
const methodsEdgeCount = (L: number, H: number): number => {
  let n = 0;
  for (let l = 0; l < L; l++) n += 3 * H * (1 + l * (H + 1)) + (1 + l * (H + 1) + H);
  return n + 1 + L * (H + 1);
};

describe("componentGraph", () => {
  it("GPT-2 small: 32,491 edges, 157 sources, 445 destinations (docs/methods.md#the-component-graph)", () => {
    const layout = edgeLayout(gpt2SmallConfig);
    const g = componentGraph(layout);
    const L = 12;
    const H = 12;
    expect(methodsEdgeCount(L, H)).toBe(32_491);
    expect(g.size).toBe(methodsEdgeCount(L, H));
    expect(layout.sources.length).toBe(1 + L * (H + 1));
    expect(layout.destinations.length).toBe(L * (3 * H + 1) + 1);
    expect(layout.sources.length).toBe(157);
    expect(layout.destinations.length).toBe(445);
    // nodes: input, 144 heads, 12 MLPs, logits
    expect(g.order).toBe(1 + L * H + L + 1);
    expect(g.hasEdge("input->a0.h1<q>")).toBe(true);
    expect(g.hasEdge("a0.h1->m2")).toBe(true);
    expect(g.hasEdge("m11->logits")).toBe(true);
    expect(g.hasEdge("a3.h0->a2.h0<q>")).toBe(false);
    expect(g.source("a0.h1->a3.h2<k>")).toBe("a0.h1");
    expect(g.target("a0.h1->a3.h2<k>")).toBe("a3.h2");
    expect(g.getEdgeAttributes("a0.h1->a3.h2<k>").kind).toBe("k");
    expect(g.getNodeAttributes("a3.h2")).toEqual({ kind: "head", layer: 3, head: 2 });
    // three parallel edges per (writer, head): q, k, v
    expect(g.edges("input", "a0.h0").length).toBe(3);
    // every edge's index attribute points back at the layout edge of that name
    g.forEachEdge((key, a) => expect(layout.edges[a.index]!.name).toBe(key));
  });

  it("attention-only 2 layers × 4 heads: 81 edges", () => {
    const g = componentGraph(edgeLayout(shape({ nLayers: 2, nHeads: 4, mlp: false })));
    // layer 0: 12 dests × 1 source; layer 1: 12 × 5; logits: 9
    expect(12 * 1 + 12 * 5 + 9).toBe(81);
    expect(g.size).toBe(81);
    expect(g.hasNode("m0")).toBe(false);
    expect(g.inDegree("logits")).toBe(9);
  });

  it("parallel residual (NeoX): m{l} reads nothing from a{l}.*", () => {
    const serial = componentGraph(edgeLayout(shape({ nLayers: 3, nHeads: 2 })));
    const parallel = componentGraph(edgeLayout(shape({ nLayers: 3, nHeads: 2, parallel: true })));
    for (let l = 0; l < 3; l++) {
      const fromOwnLayer = (g: typeof serial) =>
        g.inNeighbors(`m${l}`).filter((n) => g.getNodeAttributes(n).layer === l && n.startsWith("a"));
      expect(fromOwnLayer(parallel)).toEqual([]);
      expect(fromOwnLayer(serial).sort()).toEqual([`a${l}.h0`, `a${l}.h1`]);
    }
    expect(serial.size - parallel.size).toBe(3 * 2);
  });

  it("GQA: query heads of a group share <k>/<v> destinations on the kv node", () => {
    const layout = edgeLayout(shape({ nLayers: 2, nHeads: 4, nKvHeads: 2 }));
    const g = componentGraph(layout);
    expect(g.getNodeAttributes("a1.kv1")).toEqual({
      kind: "kv",
      layer: 1,
      head: 1,
      feeds: ["a1.h2", "a1.h3"],
    });
    expect(g.outDegree("a1.kv1")).toBe(0);
    expect(g.hasEdge("a0.h3->a1.kv1<k>")).toBe(true);
    expect(g.hasEdge("a0.h3->a1.h2<k>")).toBe(false);
    // heads receive only <q> edges; k and v land on the kv nodes
    g.forEachInEdge("a1.h2", (_k, a) => expect(a.kind).toBe("q"));
    const perLayer1Writer = 4 + 2 * 2; // 4 <q> + 2 kv × (k, v)
    expect(g.outEdges("input").filter((e) => g.target(e).startsWith("a1")).length).toBe(perLayer1Writer);
  });

  it("onlyInGraph keeps exactly the in-graph edges and attaches scores", () => {
    const layout = edgeLayout(shape({ nLayers: 2, nHeads: 2 }));
    const inGraph = new Uint8Array(layout.edges.length);
    inGraph[3] = 1;
    inGraph[layout.edges.length - 1] = 1;
    const scores = Float64Array.from(layout.edges, (e) => e.index / 10);
    const g = componentGraph(layout, { inGraph, scores, onlyInGraph: true });
    expect(g.size).toBe(2);
    expect(g.getEdgeAttributes(layout.edges[3]!.name)).toMatchObject({ index: 3, score: 0.3, inGraph: true });
    expect(g.hasNode("input")).toBe(true);
    expect(g.hasNode("logits")).toBe(true);
  });

  it("property: edges = Σ_destinations nSources, and every edge comes from an upstream writer", () => {
    fc.assert(
      fc.property(configArb, fc.constantFrom("head" as const, "layer" as const), (cfg, gran) => {
        const layout = edgeLayout(cfg, gran);
        const g = componentGraph(layout);
        const expected = layout.destinations.reduce((s, d) => s + d.nSources, 0);
        expect(g.size).toBe(expected);
        g.forEachEdge((_key, a, src, dst, sa, da) => {
          if (dst === "logits") return;
          expect(sa.kind === "input" || sa.layer! <= da.layer!).toBe(true);
          if (sa.kind !== "input" && sa.layer === da.layer) {
            // same layer only for a serial block's MLP reading its own attention
            expect(a.kind).toBe("mlp");
            expect(cfg.parallelResidual).toBe(false);
            expect(src.startsWith("a")).toBe(true);
          }
        });
        // every writer reaches the logits directly
        expect(g.inDegree("logits")).toBe(layout.sources.length);
        // graph order: sources + logits + kv nodes
        const kv = cfg.nKvHeads !== cfg.nHeads && gran === "head" ? cfg.nLayers * cfg.nKvHeads : 0;
        expect(g.order).toBe(layout.sources.length + 1 + kv);
      }),
      { numRuns: 100 },
    );
  });
});
