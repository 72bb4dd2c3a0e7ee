import { makeSessionCache, type SessionCache } from "@patchbay/core/runtime";
import { mulberry32 } from "@patchbay/core/model";
import { Cause, Effect, Exit, Option } from "effect";
import { describe, expect, it } from "vitest";
import { causalModel, run, type Setting } from "../model/causal-model.ts";
import { counterfactuals } from "../model/counterfactuals.ts";
import { CausalError } from "../model/errors.ts";
import { familyOf } from "../task/task.ts";
import { inductionAlignments, inductionCausalTask } from "../zoo/induction.ts";
import { linearToy } from "../zoo/linear.ts";
import { reverseCausalTask } from "../zoo/reverse.ts";
import { iia } from "./iia.ts";
import { iiaSweep, mibSummary } from "./sweep.ts";

const withCache = <A, E>(f: (cache: SessionCache) => Effect.Effect<A, E>): Promise<A> =>
  Effect.runPromise(Effect.scoped(Effect.flatMap(makeSessionCache("causal-iia-test", { threads: 1 }), f)));

describe("IIA on the compiled induction model (known mechanism)", () => {
  const { task, network, vocabSize, blockLen } = inductionCausalTask();
  const model = network();
  const align = inductionAlignments(vocabSize, blockLen);
  const data = counterfactuals(task.model, familyOf(task, "query"), { n: 64, seed: 1 });

  it("the true alignment (Q in TOK at the query, into layer 1) reaches IIA ≥ 0.95; wrong ones score clearly lower", async () => {
    const r = await withCache((cache) =>
      Effect.all({
        truth: iia(cache, model, task, align.query, data),
        wrongSubspace: iia(cache, model, task, align.queryWrongSubspace, data),
        wrongPosition: iia(cache, model, task, align.queryWrongPosition, data),
      }),
    );
    console.log(
      `induction IIA: true ${r.truth.accuracy.toFixed(3)}, wrong subspace ${r.wrongSubspace.accuracy.toFixed(3)}, wrong position ${r.wrongPosition.accuracy.toFixed(3)}`,
    );
    expect(r.truth.accuracy).toBeGreaterThanOrEqual(0.95);
    expect(r.wrongSubspace.accuracy).toBeLessThan(0.2);
    expect(r.wrongPosition.accuracy).toBeLessThan(0.2);
    // every pair changes the label, so ignoring the intervention scores 0: the wrong subspace
    // predicts the base label
    expect(r.wrongSubspace.predicted.filter((p, i) => p === data[i]!.baseLabel).length).toBeGreaterThan(
      0.9 * data.length,
    );
  });

  it("the output variable aligns to OUT after layer 1, and a held-out family keeps the true alignment's IIA", async () => {
    const out = counterfactuals(task.model, familyOf(task, "output"), { n: 32, seed: 2 });
    const same = counterfactuals(task.model, familyOf(task, "query-same-block"), { n: 32, seed: 3 });
    const r = await withCache((cache) =>
      Effect.all({
        output: iia(cache, model, task, align.output, out),
        heldOut: iia(cache, model, task, align.query, same),
      }),
    );
    expect(r.output.accuracy).toBeGreaterThanOrEqual(0.95);
    expect(r.heldOut.accuracy).toBeGreaterThanOrEqual(0.95);
    expect(r.heldOut.perFamily["query-same-block"]!.n).toBe(32);
  });

  it("an interchanged variable without an alignment is a typed error naming it", async () => {
    const out = counterfactuals(task.model, familyOf(task, "output"), { n: 2, seed: 2 });
    await expect(withCache((cache) => iia(cache, model, task, align.query, out))).rejects.toThrow(
      /every interchanged variable aligned to a site, found "Y"/,
    );
  });

  it("a causal failure surfaces as a CausalError, its own tag: not folded into InputError, not a defect", async () => {
    const out = counterfactuals(task.model, familyOf(task, "output"), { n: 2, seed: 2 });
    const q = counterfactuals(task.model, familyOf(task, "query"), { n: 2, seed: 1 });
    const pastTheSite = [{ ...align.query[0]!, subspace: { dims: [0, 1 << 20] as [number, number] } }];
    const failures = await Promise.all(
      [
        (cache: SessionCache) => iia(cache, model, task, align.query, out), // Y is interchanged, not aligned
        (cache: SessionCache) => iia(cache, model, task, pastTheSite, q), // a dim past the site's width
      ].map(async (run) => {
        const exit = await Effect.runPromiseExit(
          Effect.scoped(Effect.flatMap(makeSessionCache("causal-error-tag", { threads: 1 }), run)),
        );
        expect(Exit.isFailure(exit)).toBe(true);
        return Exit.isFailure(exit) ? Option.getOrNull(Cause.failureOption(exit.cause)) : null;
      }),
    );
    for (const e of failures) {
      expect(e).toBeInstanceOf(CausalError);
      expect((e as CausalError)._tag).toBe("CausalError");
    }
    expect((failures[1] as CausalError).field).toBe("alignment[0].subspace.dims[1]");
  });

  it("no examples is a typed InputError, not an IIA of 0", async () => {
    await expect(withCache((cache) => iia(cache, model, task, align.query, []))).rejects.toThrow(
      /iia examples: expected at least one counterfactual example, found none/,
    );
  });
});

describe("IIA sweep over (layer, position), MIB aggregation", () => {
  it("mibSummary: max over positions per layer, then mean and max over layers", () => {
    const s = mibSummary(
      "X",
      ["l0", "l1", "l2"],
      ["a", "b"],
      [
        [0.1, 0.5],
        [0.9, 0.2],
        [0.3, 0.3],
      ],
      10,
    );
    expect(s.perLayer).toEqual([0.5, 0.9, 0.3]);
    expect(s.mean).toBeCloseTo((0.5 + 0.9 + 0.3) / 3, 12);
    expect(s.max).toBe(0.9);
    expect(s.best).toEqual({ site: "l1", position: "a", iia: 0.9 });
  });

  it("on the induction model, Q lives at the query from the embedding to layer 1's input, and nowhere after", async () => {
    const { task, network, blockLen } = inductionCausalTask();
    const data = counterfactuals(task.model, familyOf(task, "query"), { n: 32, seed: 4 });
    const sites = ["blocks.0.resid_pre", "blocks.1.resid_pre", "blocks.1.resid_post"];
    const positions = Array.from({ length: blockLen + 2 }, (_, index) => ({ index }));
    const r = await withCache((cache) =>
      iiaSweep(cache, network(), task, { variable: "Q", sites, positions }, data),
    );
    const last = blockLen + 1;
    console.log(
      `induction sweep: ${r.grid.map((row) => row.map((v) => v.toFixed(2)).join(" ")).join(" | ")}`,
    );
    expect(r.grid[0]![last]).toBeGreaterThanOrEqual(0.95);
    expect(r.grid[1]![last]).toBeGreaterThanOrEqual(0.95);
    expect(r.grid[2]![last]).toBeLessThan(0.3);
    for (const row of r.grid) for (const v of row.slice(0, last)) expect(v).toBeLessThan(0.3);
    expect(r.perLayer).toEqual(r.grid.map((row) => Math.max(...row)));
    expect(r.max).toBe(Math.max(r.grid[0]![last]!, r.grid[1]![last]!));
    expect(r.positions[last]).toBe(String(last));
  });
});

describe("multi-variable interchanges", () => {
  it("X and Y from two different sources, each aligned to its planted plane: IIA 1; swapped planes: IIA ≈ 0", async () => {
    const toy = linearToy();
    const data = counterfactuals(toy.task.model, familyOf(toy.task, "X,Y"), { n: 64, seed: 5 });
    expect(data.every((e) => e.sources.length === 2)).toBe(true);
    const at = (variable: string) => ({
      variable,
      site: "blocks.0.resid_post",
      positions: ["last"] as ["last"],
      subspace: { rank: 2 },
    });
    const both = [at("X"), at("Y")];
    const r = await withCache((cache) =>
      Effect.all({
        right: iia(cache, toy.model, toy.task, both, data, {
          rotations: { X: { rotation: toy.planted.X }, Y: { rotation: toy.planted.Y } },
        }),
        swapped: iia(cache, toy.model, toy.task, both, data, {
          rotations: { X: { rotation: toy.planted.Y }, Y: { rotation: toy.planted.X } },
        }),
        onlyX: iia(cache, toy.model, toy.task, both, data, {
          rotations: { X: { rotation: toy.planted.X }, Y: { rotation: toy.planted.X } },
        }),
      }),
    );
    expect(r.right.accuracy).toBe(1);
    expect(r.swapped.accuracy).toBeLessThan(0.1);
    // both interventions write X's plane (the second from Y's source): Y never moves
    expect(r.onlyX.accuracy).toBeLessThan(0.3);
  });
});

describe("IIA on the compiled reverse model (tracr's make_reverse: length → opp → copy)", () => {
  const { task, network, alignments } = reverseCausalTask();
  it("OPP (after m0) and L (between a0 and m0) align to their blocks with IIA ≥ 0.95; wrong places score low", async () => {
    const opp = counterfactuals(task.model, familyOf(task, "opp"), { n: 64, seed: 1 });
    const len = counterfactuals(task.model, familyOf(task, "length"), { n: 64, seed: 2 });
    const held = counterfactuals(task.model, familyOf(task, "opp-same-tokens"), { n: 64, seed: 3 });
    const r = await withCache((cache) =>
      Effect.all({
        opp: iia(cache, network, task, alignments.opp, opp),
        length: iia(cache, network, task, alignments.length, len),
        heldOut: iia(cache, network, task, alignments.opp, held),
        oppWrong: iia(cache, network, task, alignments.oppWrongSubspace, opp),
        lengthEarly: iia(cache, network, task, alignments.lengthTooEarly, len),
      }),
    );
    console.log(
      `reverse IIA: ${Object.entries(r)
        .map(([k, v]) => `${k} ${v.accuracy.toFixed(3)}`)
        .join(", ")}`,
    );
    expect(r.opp.accuracy).toBeGreaterThanOrEqual(0.95);
    expect(r.length.accuracy).toBeGreaterThanOrEqual(0.95);
    expect(r.heldOut.accuracy).toBeGreaterThanOrEqual(0.95);
    expect(r.oppWrong.accuracy).toBeLessThan(0.3);
    expect(r.lengthEarly.accuracy).toBeLessThan(0.3);
  });

  it("IIA tells hypotheses apart: 'OPP = L + 1 − J' predicts the same outputs, but not the length counterfactuals", async () => {
    // the same variables, with the plausible-looking but wrong mechanism for OPP
    const vars = [...task.model.variables.values()].map((v) =>
      v.name === "OPP"
        ? {
            ...v,
            parents: ["L", "J"],
            mechanism: (s: Setting) => {
              const o = (s.L as number) + 1 - (s.J as number);
              return o >= 1 ? o : null;
            },
          }
        : v,
    );
    const alt = causalModel({ name: "reverse-alt", variables: vars, output: "Y", sample: task.model.sample });
    const altTask = { ...task, model: alt };
    const u = mulberry32(11);
    for (let i = 0; i < 200; i++) {
      const x = task.model.sample(u);
      expect(run(alt, x).Y).toBe(run(task.model, x).Y);
    }
    const len = counterfactuals(alt, familyOf(altTask, "length"), { n: 64, seed: 2 });
    const r = await withCache((cache) => iia(cache, network, altTask, alignments.length, len));
    expect(r.accuracy).toBeLessThan(0.3);
  });
});
