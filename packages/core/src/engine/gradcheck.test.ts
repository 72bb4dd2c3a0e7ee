import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import { hasShared, sharedPath } from "../testing/shared.ts";
import { loadModelSync } from "../weights/index.ts";
import { gradcheck } from "./gradcheck.ts";

if (!hasShared) console.warn("\n*** ../shared is absent: gradcheck on real checkpoints is SKIPPED ***\n");

describe.skipIf(!hasShared)(
  "gradcheck on real checkpoints: autodiff = finite differences beyond float32 noise",
  () => {
    for (const path of [
      ["models", "tl-induction-2L"],
      ["fixtures", "tiny-llama"],
    ]) {
      it(path.join("/"), async () => {
        const model = loadModelSync(sharedPath(...path));
        const rows = await Effect.runPromise(gradcheck(model, { seed: 1, coords: 2 }));
        // Every site kind (layers 0 and last), every parameter kind, and weights are covered…
        expect(rows.filter((r) => r.kind === "site").length).toBeGreaterThan(20);
        expect(rows.filter((r) => r.kind === "param").map((r) => r.target)).toEqual([
          "replace.value",
          "add.value",
          "scale.factor",
          "subspace.rotation",
          "subspace.mask",
        ]);
        expect(rows.some((r) => r.kind === "weight")).toBe(true);
        // …and each agrees to 1e-2 beyond the estimated FD noise floor (measured worst here: 4.6e-3;
        // scaling the Softmax rule by 1.05 pushes tl-induction-2L targets up to 3.5e-2).
        for (const r of rows) expect(r.maxRelError, `${r.kind} ${r.target}`).toBeLessThan(1e-2);
      });
    }
  },
);
