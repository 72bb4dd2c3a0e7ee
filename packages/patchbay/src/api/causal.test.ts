import {
  causalBuiltin,
  counterfactuals,
  familyOf,
  iia as iiaEffect,
  iiaSweep as iiaSweepEffect,
} from "@patchbay/causal";
import { makeSessionCache } from "@patchbay/core/runtime";
import { Effect } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as causal from "./causal.ts";
import { open, type PatchbayModel } from "./model.ts";

const { task, network, alignments } = causalBuiltin("induction");
const pairs = (family: string, n: number, seed: number) =>
  counterfactuals(task.model, familyOf(task, family), { n, seed });

/** The Effect API on the same network, with its own session cache. */
const viaEffect = <A, E>(
  f: (cache: Effect.Effect.Success<ReturnType<typeof makeSessionCache>>) => Effect.Effect<A, E>,
) => Effect.runPromise(Effect.scoped(Effect.flatMap(makeSessionCache("induction", { threads: 1 }), f)));

describe("causal: the Promise API gives the Effect API's IIA (the induction network)", () => {
  let model: PatchbayModel;
  beforeAll(async () => {
    model = await open(network, { threads: 1 });
  });
  afterAll(() => model.close());

  it("iia: the true alignment scores 1, a wrong one less, each exactly as the Effect API", async () => {
    const examples = pairs("query", 64, 1);
    const accuracy: Record<string, number> = {};
    for (const name of ["query", "queryWrongSubspace", "queryWrongPosition"]) {
      const r = await causal.iia(model, task, alignments[name]!, examples, { chunkSize: 16 });
      const e = await viaEffect((cache) =>
        iiaEffect(cache, network, task, alignments[name]!, examples, { chunkSize: 16 }),
      );
      expect(r).toEqual(e);
      accuracy[name] = r.accuracy;
    }
    expect(accuracy.query).toBe(1);
    expect(accuracy.queryWrongSubspace).toBeLessThan(0.5);
    expect(accuracy.queryWrongPosition).toBeLessThan(0.5);
  });

  it("iiaSweep: the same grid and MIB summary as the Effect API", async () => {
    const spec = {
      variable: "Q",
      sites: ["blocks.0.resid_pre", "blocks.1.resid_pre", "blocks.1.resid_post"],
      positions: [{ index: 1 }, "last" as const],
    };
    const examples = pairs("query", 32, 2);
    const r = await causal.iiaSweep(model, task, spec, examples);
    const e = await viaEffect((cache) => iiaSweepEffect(cache, network, task, spec, examples));
    expect(r).toEqual(e);
    expect(r.best.iia).toBe(1);
  });

  it("typed errors: an option iia does not read; no examples", async () => {
    await expect(
      causal.iia(model, task, alignments.query!, pairs("query", 4, 0), { chunk: 2 } as never),
    ).rejects.toMatchObject({
      _tag: "InputError",
      field: "iia options.chunk",
    });
    await expect(causal.iia(model, task, alignments.query!, [])).rejects.toMatchObject({
      _tag: "InputError",
      field: "iia examples",
    });
  });
});
