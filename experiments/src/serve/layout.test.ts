import { edgeLayout } from "@patchbay/core/edges";
import { gpt2SmallConfig } from "@patchbay/core/model";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { layoutGraph, NODE } from "./layout.ts";

describe("explorer graph layout", () => {
  it("puts input at the bottom, logits on top, each layer's MLP above its heads, and no two nodes on one spot", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 6 }),
        fc.constantFrom("head", "head-qkv", "layer"),
        (nLayers, nHeads, granularity) => {
          const c = { ...gpt2SmallConfig, nLayers, nHeads, nKvHeads: nHeads, dModel: 8 * nHeads, dHead: 8 };
          const names = edgeLayout(c, granularity as never).edges.map((e) => e.name);
          const g = layoutGraph(names);
          const at = new Map(g.nodes.map((n) => [n.name, n]));
          expect(at.get("input")!.y).toBe(Math.max(...g.nodes.map((n) => n.y)));
          expect(at.get("logits")!.y).toBe(Math.min(...g.nodes.map((n) => n.y)));
          for (let l = 0; l < nLayers; l++) {
            const attn = g.nodes.find((n) => n.layer === l && n.kind !== "mlp")!;
            expect(at.get(`m${l}`)!.y).toBeLessThan(attn.y);
            if (l > 0) expect(attn.y).toBeLessThan(at.get(`m${l - 1}`)!.y);
          }
          const spots = new Set(g.nodes.map((n) => `${n.x},${n.y}`));
          expect(spots.size).toBe(g.nodes.length);
          for (const n of g.nodes) {
            expect(n.x - NODE.w / 2).toBeGreaterThanOrEqual(0);
            expect(n.x + NODE.w / 2).toBeLessThanOrEqual(g.width);
          }
          // every edge goes up, from its source's top to its destination's bottom
          expect(g.edges.map((e) => e.name)).toEqual(names);
          for (const e of g.edges) expect(e.at[1]).toBeGreaterThan(e.at[3]);
        },
      ),
      { numRuns: 30 },
    );
  });
});
