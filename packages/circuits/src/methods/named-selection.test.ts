import { makeSessionCache } from "@patchbay/core/runtime";
import { inductionCircuit, inductionModel, inductionTask } from "@patchbay/zoo";
import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import { discover } from "./discover.ts";
import { evaluateCircuits } from "./evaluation.ts";
import { prepareEdges } from "./setup.ts";

/**
 * selection { _tag: edges }: the circuit is exactly the named edges (not pruned, whatever the
 * scores), evaluated like any other; a name the layout lacks is an InputError naming its index.
 */
describe("selection by edge names", () => {
  const model = inductionModel({ attnLogit: 4 });
  const task = {
    ...inductionTask(1, 8, { blockLen: 8 }),
    ablation: "resample",
    metric: "logit-diff",
  } as const;
  const run = <A, E>(
    f: (setup: Effect.Effect.Success<ReturnType<typeof prepareEdges>>) => Effect.Effect<A, E>,
  ) =>
    Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          return yield* f(yield* prepareEdges(yield* makeSessionCache("named", { threads: 1 }), model, task));
        }),
      ),
    );

  it("keeps exactly the named edges, dangling ones included, and evaluates them as evaluateCircuits does", async () => {
    // the ground truth minus its key edge, plus an edge into a head nothing reads (pruning would drop it)
    const names = [
      ...inductionCircuit({ ablation: "resample" }).filter((e) => e !== "a0.h1->a1.h2<k>"),
      "input->a1.h0<q>",
    ];
    const r = await run((setup) =>
      Effect.gen(function* () {
        const d = yield* discover(setup, {
          method: { _tag: "eap" },
          selection: { _tag: "edges", edges: names },
          checkSample: 0,
          checkSeed: 0,
        });
        const inGraph = Uint8Array.from(setup.layout.edges, (e) => (names.includes(e.name) ? 1 : 0));
        return {
          d,
          kept: setup.layout.edges.filter((e) => d.inGraph[e.index] === 1).map((e) => e.name),
          ev: yield* evaluateCircuits(setup, [inGraph]),
        };
      }),
    );
    expect(new Set(r.kept)).toEqual(new Set(names));
    expect(r.d.evaluation.faithfulness).toBe(r.ev.circuits[0]!.faithfulness);
    expect(r.d.evaluation.faithfulness).toBeLessThan(0.9);
  });

  it("a name not in the layout is an InputError naming selection.edges[i]", async () => {
    const e = await run((setup) =>
      Effect.flip(
        discover(setup, {
          method: { _tag: "eap" },
          selection: { _tag: "edges", edges: ["a1.h2->logits", "a9.h0->logits"] },
          checkSample: 0,
          checkSeed: 0,
        }),
      ),
    );
    expect(e).toMatchObject({ _tag: "InputError", field: "selection.edges[1]", found: '"a9.h0->logits"' });
  });
});
