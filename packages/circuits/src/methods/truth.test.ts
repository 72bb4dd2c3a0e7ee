import { edgeLayout } from "@patchbay/core/edges";
import { gpt2SmallConfig } from "@patchbay/core/model";
import { InputError } from "@patchbay/core/errors";
import { describe, expect, it } from "vitest";
import { compareToTruth } from "./discover.ts";

describe("compareToTruth", () => {
  const layout = edgeLayout({ ...gpt2SmallConfig, nLayers: 2 }, "head");
  const names = layout.edges.map((e) => e.name);

  it("counts found, correct, missing and extra edges against the ground truth", () => {
    const truth = [names[0]!, names[1]!, names[2]!];
    const inGraph = new Uint8Array(names.length);
    inGraph[1] = inGraph[2] = inGraph[3] = 1; // two right, one extra, one missing
    const scores = Float64Array.from(names, (_, i) => (i < 4 ? 10 - i : 0));
    const r = compareToTruth(layout, inGraph, scores, truth);
    expect([r.truth, r.found, r.correct]).toEqual([3, 3, 2]);
    expect(r.precision).toBeCloseTo(2 / 3, 12);
    expect(r.recall).toBeCloseTo(2 / 3, 12);
    expect(r.missing).toEqual([names[0]]);
    expect(r.extra).toEqual([names[3]]);
  });

  it("a ground truth naming edges the layout lacks is a typed InputError naming them", () => {
    const call = () =>
      compareToTruth(layout, new Uint8Array(names.length), new Float64Array(names.length), ["a9.h0->logits"]);
    expect(call).toThrow(InputError);
    expect(call).toThrow(
      /ground truth edges: expected edges of the head layout .* found 1 unknown: a9\.h0->logits/,
    );
  });
});
