import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Discovery, discover, prepareEdges } from "@patchbay/circuits";
import type { EdgeAblation } from "@patchbay/core/patching";
import { openModel } from "@patchbay/core/runtime";
import { type Task, taskFor, writeTaskFileSync } from "@patchbay/zoo";
import { Effect } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testdataPath } from "../../../core/src/testing/testdata.ts";
import * as circuits from "./circuits.ts";
import { open, type PatchbayModel } from "./model.ts";

const INDUCTION = "builtin:induction";

/** The Effect API's discovery, as `patchbay circuit` composes it. */
const viaEffect = (task: Task, spec: Discovery, ablation: EdgeAblation = "resample") =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const m = yield* openModel(INDUCTION, { threads: 1 });
        const setup = yield* prepareEdges(m.sessions, m, { ...task, ablation, metric: "logit-diff" }, "head");
        return yield* discover(setup, spec);
      }),
    ),
  );

const bits = (a: Float64Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe("circuits: the Promise API gives the Effect API's and the CLI's numbers (builtin:induction)", () => {
  let model: PatchbayModel;
  beforeAll(async () => {
    model = await open(INDUCTION, { threads: 1 });
  });
  afterAll(() => model.close());

  it("eap: the scores of `patchbay circuit --method eap --json`, exactly", async () => {
    const r = await circuits.eap(model, { n: 16 });
    const cli = JSON.parse(
      execFileSync(
        process.execPath,
        [
          "--import",
          "tsx",
          "experiments/src/cli/main.ts",
          "circuit",
          "--model",
          INDUCTION,
          "--method",
          "eap",
          "--n",
          "16",
          "--threads",
          "1",
          "--json",
        ],
        { encoding: "utf8" },
      ),
    ) as {
      scores: Record<string, number | null>;
      edges: string[];
      faithfulness: number;
      spearmanVsExact: number;
    };
    expect(r.edges.length).toBe(Object.keys(cli.scores).length);
    for (const [i, name] of r.edges.entries()) expect(r.scores[i]).toBe(cli.scores[name]);
    expect(r.circuit).toEqual(cli.edges);
    expect(r.evaluation.faithfulness).toBe(cli.faithfulness);
    expect(r.check!.spearman).toBe(cli.spearmanVsExact);
    expect(r.evaluation.faithfulness).toBeGreaterThanOrEqual(0.9);
  });

  it("eapIg over inputs and over activations: bit-identical to discover with the same method", async () => {
    const task = taskFor(INDUCTION, { seed: 3, n: 8 });
    for (const over of ["inputs", "activations"] as const) {
      const r = await circuits.eapIg(model, task, { steps: 3, over, checkSample: 0 });
      if (over === "inputs") {
        // a budget of a few rows: more runs, the same scores up to float32 reassociation
        const small = await circuits.eapIg(model, task, { steps: 3, checkSample: 0, maxFloats: 3_000_000 });
        for (const [i, x] of r.scores.entries()) expect(Math.abs(small.scores[i]! - x)).toBeLessThan(1e-4);
      }
      const e = await viaEffect(task, {
        method: { _tag: over === "inputs" ? "eap-ig-inputs" : "eap-ig-activations", steps: 3 },
        selection: { _tag: "faithful", target: 0.9, absolute: true },
        checkSample: 0,
        checkSeed: 0,
      });
      expect(bits(r.scores)).toEqual(bits(e.scores));
      expect([...r.inGraph]).toEqual([...e.inGraph]);
      expect(r.method).toBe(e.method);
    }
  });

  it("acdc: the same circuit and Δs as discover; it finds the induction circuit at τ = 0.5", async () => {
    const task = taskFor(INDUCTION, { seed: 0, n: 8 });
    const r = await circuits.acdc(model, task, { tau: 0.5, checkSample: 0 });
    const e = await viaEffect(task, {
      method: { _tag: "acdc", tau: 0.5, order: "normal", seed: 0, absolute: false },
      checkSample: 0,
      checkSeed: 0,
    });
    expect(bits(r.scores)).toEqual(bits(e.scores));
    expect([...r.inGraph]).toEqual([...e.inGraph]);
    expect(r.circuit).toContain("a0.h1->a1.h2<k>");
    expect(r.evaluation.faithfulness).toBe(e.evaluation.faithfulness);
  });

  it("exact, from a task file and from the same task in memory: the same scores as discover", async () => {
    const task = taskFor(INDUCTION, { seed: 1, n: 4 });
    const dir = mkdtempSync(join(tmpdir(), "patchbay-api-"));
    try {
      const file = join(dir, "task.jsonl");
      writeTaskFileSync(file, task);
      const fromFile = await circuits.exact(model, file, { checkSample: 0, ablation: "zero" });
      const inMemory = await circuits.exact(model, task, { checkSample: 0, ablation: "zero" });
      const e = await viaEffect(
        task,
        {
          method: { _tag: "exact" },
          selection: { _tag: "faithful", target: 0.9, absolute: true },
          checkSample: 0,
          checkSeed: 0,
        },
        "zero",
      );
      expect(bits(fromFile.scores)).toEqual(bits(e.scores));
      expect(bits(inMemory.scores)).toEqual(bits(e.scores));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("an option the method does not read, or a refused combination, is a typed InputError", async () => {
    await expect(circuits.eap(model, { n: 4 }, { steps: 3 } as never)).rejects.toMatchObject({
      _tag: "InputError",
      field: "circuit options.steps",
    });
    await expect(circuits.acdc(model, { n: 4 }, { tau: 1, top: 3 } as never)).rejects.toMatchObject({
      _tag: "InputError",
      field: "acdc options.top",
    });
    await expect(
      circuits.acdc(model, { n: 4 }, { selection: { _tag: "top-n", n: 3, absolute: true } } as never),
    ).rejects.toMatchObject({ _tag: "InputError", field: "selection" });
    await expect(circuits.eapIg(model, { n: 4 }, { ablation: "zero" })).rejects.toMatchObject({
      _tag: "InputError",
      field: "ablation",
    });
    // EAP-IG's run budget: over inputs only, and at least one row
    await expect(
      circuits.eapIg(model, { n: 4 }, { over: "activations", maxFloats: 1e9, checkSample: 0 }),
    ).rejects.toMatchObject({ _tag: "InputError", field: "circuit options" });
    await expect(circuits.eapIg(model, { n: 4 }, { maxFloats: 1000, checkSample: 0 })).rejects.toMatchObject({
      _tag: "InputError",
      field: "maxFloats",
    });
    await expect(circuits.eap(model, { n: 4, sead: 1 } as never)).rejects.toMatchObject({
      _tag: "InputError",
      field: "task.sead",
    });
    await expect(circuits.eap(model, "no/such/task.jsonl")).rejects.toMatchObject({ _tag: "TaskFileError" });
  });

  it("a generated task needs a builtin model (or task.builtin)", async () => {
    await using gpt2 = await open(testdataPath("fixtures", "tiny-gpt2"), { threads: 1 });
    await expect(circuits.eap(gpt2, { n: 4 })).rejects.toMatchObject({ _tag: "InputError", field: "task" });
  });
});
