import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openModel } from "@patchbay/core/runtime";
import { taskFor } from "@patchbay/zoo";
import {
  ALLOW_HOSTS_ENV,
  ApiAccessError,
  evaluateLens,
  LensEvalSpec,
  loadSae,
  loadTunedLens,
} from "@patchbay/readouts";
import { Effect, Either, Schema } from "effect";
import { afterAll, describe, expect, it } from "vitest";
import {
  hasSharedModels,
  sharedModelPath,
  warnIfNoSharedModels,
} from "../../../../packages/core/src/testing/shared.ts";
import type { ReadoutCellResult } from "./result.ts";
import { loadExperiment } from "../../spec/load.ts";
import { runExperiment } from "../../run/experiment.ts";
import { cellPath } from "../../run/store.ts";
import { readArrow } from "../../run/tables.ts";

/**
 * Readout experiments end to end on builtin:induction: experiment files → cells → results store
 * (artifacts beside the result) → byte-identical reruns, table rows with each method's key
 * figures, and typed errors for data a method cannot use.
 */
const dir = mkdtempSync(join(tmpdir(), "patchbay-readout-run-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const write = (name: string, lines: readonly string[]): string => {
  const file = join(dir, name);
  writeFileSync(file, `${lines.join("\n")}\n`);
  return file;
};
const run = (file: string, results = "store") =>
  Effect.runPromise(
    Effect.flatMap(loadExperiment(file), (l) => runExperiment(l, { results: join(dir, results) })),
  );

describe("readout experiments", () => {
  it("DLA, steering and the logit lens: the known figures of the compiled induction model, byte-identical reruns, table rows", async () => {
    const file = write("cheap.yaml", [
      "kind: readout",
      "model: builtin:induction",
      "data: { task: { n: 8 } }",
      "method: { _tag: dla }",
      "sweep:",
      "  zip:",
      "    method:",
      "      - { _tag: dla }",
      "      - { _tag: logit-lens, topK: 2 }",
      "      - { _tag: steering, site: blocks.1.resid_post, positions: last, alphas: [0, 1] }",
    ]);
    const s = await run(file);
    const [dla, lens, steer] = s.cells.map((c) => c.result as ReadoutCellResult);
    expect(dla!.kind).toBe("readout");
    if (dla!.method !== "dla" || lens!.method !== "logit-lens" || steer!.method !== "steering")
      throw new Error("methods out of order");
    // norm-free model: the terms sum exactly to the logit difference, carried by the induction head a1.h2
    expect(dla!.result.mean.total).toBeCloseTo(dla!.result.mean.logitDiff, 4);
    expect(dla!.result.mean.heads![1]![2]).toBeCloseTo(dla!.result.mean.logitDiff, 4);
    expect(lens!.result.sites.length).toBe(3);
    expect(lens!.result.kl.logit.at(-1)).toBeCloseTo(0, 6);
    expect(lens!.result.table.final.length).toBe(lens!.result.table.tokens.length);
    expect(steer!.result.sweep.map((p) => p.alpha)).toEqual([0, 1]);
    // α = 0 is the unsteered run
    expect(steer!.result.sweep[0]!.metric).toBeCloseTo(steer!.result.clean, 6);
    // rows: one per cell, with the method's figures
    const rows = readArrow(readFileSync(join(s.results, "runs", s.runId, "table.arrow")));
    expect(rows.map((r) => r.method)).toEqual(["dla", "logit-lens", "steering"]);
    expect(rows[0]!.topComponent).toBe("a1.h2");
    expect(rows[0]!.sumError as number).toBeLessThan(1e-4);
    expect(rows[1]!.headlineLabel).toBe("mean KL (logit lens)");
    expect(rows[2]!.maxAlpha).toBe(1);
    // byte-identical rerun into a fresh store
    const again = await run(file, "store2");
    for (const [i, c] of s.cells.entries()) {
      expect(again.cells[i]!.cellId).toBe(c.cellId);
      expect(readFileSync(cellPath(join(dir, "store2"), c.cellId), "utf8")).toBe(
        readFileSync(cellPath(join(dir, "store"), c.cellId), "utf8"),
      );
    }
  });

  it("tuned lens and SAE write their artifacts beside the result; they reload and re-evaluate to the stored figures; reruns are byte-identical", async () => {
    const file = write("artifacts.yaml", [
      "kind: readout",
      "model: builtin:induction",
      "data: { task: { n: 16 } }",
      "method: { _tag: tuned-lens, steps: 8, lr: 0.01, batchSize: 4 }",
      "sweep:",
      "  zip:",
      "    method:",
      "      - { _tag: tuned-lens, steps: 8, lr: 0.01, batchSize: 4 }",
      "      - { _tag: sae, site: blocks.1.resid_pre, train: { dictSize: 16, steps: 40, batchSize: 64 } }",
    ]);
    const s = await run(file);
    const [tl, sae] = s.cells.map((c) => c.result as ReadoutCellResult);
    if (tl!.method !== "tuned-lens" || sae!.method !== "sae") throw new Error("methods out of order");
    const store = join(dir, "store");
    const tlFile = join(store, tl!.result.artifact);
    const saeFile = join(store, sae!.result.artifact);
    expect(tl!.result.artifact).toBe(`artifacts/${tl!.cellId}/tuned-lens.json`);
    expect(sae!.result.artifact).toBe(`artifacts/${sae!.cellId}/sae.json`);
    expect(existsSync(tlFile) && existsSync(saeFile)).toBe(true);
    expect(tl!.result.split.eval.length).toBe(4); // ⌈0.25 · 16⌉ held out
    expect(tl!.result.curve.length).toBe(8);
    // the SAE's stored figures come back from the artifact
    const loaded = await Effect.runPromise(loadSae(saeFile));
    expect(loaded.m).toBe(16);
    expect(sae!.result.dictSize).toBe(16);
    expect(sae!.result.splice).not.toBeNull();
    expect(Number.isFinite(sae!.result.eval.fvu)).toBe(true);
    // the reloaded tuned lens re-evaluates to the stored per-site KL on the held-out prompts
    const reKl = await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const m = yield* openModel("builtin:induction");
          const { lens } = yield* loadTunedLens(tlFile, m.config);
          const spec = Schema.decodeUnknownSync(LensEvalSpec)({});
          const task = taskFor("builtin:induction", { seed: 0, n: 16 });
          const prompts = tl!.result.split.eval.map((i) => task.clean[i]!);
          return (yield* evaluateLens(m.sessions, m, spec, { prompts }, lens)).kl.tuned!;
        }),
      ),
    );
    tl!.result.report.kl.tuned!.forEach((k, i) => {
      expect(reKl[i]!).toBeCloseTo(k, 5);
    });
    const again = await run(file, "store3");
    expect(again.cells.map((c) => c.cellId)).toEqual(s.cells.map((c) => c.cellId));
    for (const c of s.cells)
      expect(readFileSync(cellPath(join(dir, "store3"), c.cellId), "utf8")).toBe(
        readFileSync(cellPath(store, c.cellId), "utf8"),
      );
    expect(readFileSync(join(dir, "store3", sae!.result.artifact), "utf8")).toBe(
      readFileSync(saeFile, "utf8"),
    );
    expect(readFileSync(join(dir, "store3", tl!.result.artifact), "utf8")).toBe(readFileSync(tlFile, "utf8"));
  });

  it("a probe on a dataset without labels, texts on a model without a tokenizer, a site the model lacks: typed errors naming the field", async () => {
    const noLabels = write("no-labels.yaml", [
      "kind: readout",
      "model: builtin:induction",
      "data: { task: { n: 4 } }",
      "method: { _tag: probe, site: blocks.0.resid_pre }",
    ]);
    await expect(run(noLabels)).rejects.toThrow(/data: expected a labelled dataset for probe.*found task/);
    const texts = write("texts.yaml", [
      "kind: readout",
      "model: builtin:induction",
      "data: { texts: [Once upon a time] }",
      "method: { _tag: logit-lens }",
    ]);
    await expect(run(texts)).rejects.toThrow(/data.texts: expected a model with a tokenizer/);
    const badSite = write("bad-site.yaml", [
      "kind: readout",
      "model: builtin:induction",
      "data: { task: { n: 4 } }",
      "method: { _tag: sae, site: blocks.7.resid_pre, train: { dictSize: 4 } }",
    ]);
    await expect(run(badSite)).rejects.toThrow(/site.*blocks\.7\.resid_pre/);
  });

  it("a readouts error keeps its own tag through runExperiment and the run's manifest: ApiAccessError for an http explainer on a host the user did not allow", async () => {
    const file = write("http-neurons.yaml", [
      "kind: readout",
      "model: builtin:induction",
      "data: { task: { n: 8 } }",
      "method:",
      "  _tag: neurons",
      "  records: { site: blocks.1.attn.z, index: 69, topK: 4, randomK: 4, window: 8 }",
      "  score: { explainTop: 2 }",
      "  models: { _tag: http, baseUrl: 'http://explainer.invalid/v1', model: m }",
    ]);
    const saved = process.env[ALLOW_HOSTS_ENV];
    delete process.env[ALLOW_HOSTS_ENV];
    try {
      const r = await Effect.runPromise(
        Effect.either(
          Effect.flatMap(loadExperiment(file), (l) => runExperiment(l, { results: join(dir, "http") })),
        ),
      );
      if (Either.isRight(r)) throw new Error("the http explainer ran without an allowed host");
      expect(r.left).toBeInstanceOf(ApiAccessError);
      expect(r.left._tag).toBe("ApiAccessError");
      expect(r.left.message).toContain('host "explainer.invalid" is not allowed (allowed: none)');
      const [runId] = readdirSync(join(dir, "http", "runs"));
      const manifest = JSON.parse(readFileSync(join(dir, "http", "runs", runId!, "manifest.json"), "utf8"));
      expect(manifest.status).toBe("failed");
      expect(manifest.error).toMatch(/^cell 1 \([0-9a-f]{64}\): ApiAccessError: http:\/\/explainer\.invalid/);
    } finally {
      if (saved !== undefined) process.env[ALLOW_HOSTS_ENV] = saved;
    }
  });

  it("a patchscope swept over the site: the clean answer is restored only after the induction head (blocks.1.resid_post)", async () => {
    const file = write("patchscope.yaml", [
      "kind: readout",
      "model: builtin:induction",
      "data: { task: { n: 8 } }",
      "method:",
      "  _tag: patchscope",
      "  source: { site: blocks.1.resid_pre, position: -2 }",
      "  target: { site: blocks.1.resid_pre, position: -2 }",
      "  readout: -2",
      "sweep:",
      "  zip:",
      "    method.source.site: [blocks.0.resid_pre, blocks.1.resid_pre, blocks.1.resid_post]",
      "    method.target.site: [blocks.0.resid_pre, blocks.1.resid_pre, blocks.1.resid_post]",
    ]);
    const s = await run(file);
    const p = s.cells.map((c) => {
      const r = c.result as ReadoutCellResult;
      if (r.method !== "patchscope") throw new Error(r.method);
      expect(r.result.examples.every((e) => e.expected !== null)).toBe(true);
      return r.result.precisionAt1;
    });
    expect(p).toEqual([0, 0, 1]);
  });
});

warnIfNoSharedModels("kinds/readout/cell.test.ts: readout experiments on stories260K");

describe.skipIf(!hasSharedModels)("readout experiments on stories260K (../shared/models)", () => {
  it("texts are tokenised with the model's tokenizer: the lens table spells tokens, the patchscope sweep decodes them", async () => {
    const model = sharedModelPath("stories260K", "stories260K.bin");
    const texts = '["Once upon a time, there was a little girl named Lily.", "The cat sat on the mat."]';
    const file = write("stories.yaml", [
      "kind: readout",
      `model: ${JSON.stringify(model)}`,
      `data: { texts: ${texts} }`,
      "method: { _tag: logit-lens, topK: 2 }",
      "sweep:",
      "  zip:",
      "    method:",
      "      - { _tag: logit-lens, topK: 2 }",
      "      - { _tag: patchscope-sweep, prompt: token-identity }",
    ]);
    const s = await run(file, "store-stories");
    const [lens, sweep] = s.cells.map((c) => c.result as ReadoutCellResult);
    if (lens!.method !== "logit-lens" || sweep!.method !== "patchscope-sweep") throw new Error("order");
    expect(lens!.result.table.tokens.every((t) => typeof t.token === "string")).toBe(true);
    expect(lens!.result.table.tokens.map((t) => t.token).join("")).toContain("Lily");
    expect(sweep!.result.sources).toBe(2);
    expect(sweep!.result.layers.length).toBeGreaterThan(1);
    for (const l of sweep!.result.layers) expect(l.top.every((t) => typeof t.token === "string")).toBe(true);
    expect(Object.keys(lens!.model)).not.toContain("quantization"); // a llama2.c .bin: nothing stored quantised
  });

  it("a GGUF model's result says how its tensors were stored (the model block's quantization)", async () => {
    const file = write("stories-gguf.yaml", [
      "kind: readout",
      `model: ${JSON.stringify(sharedModelPath("stories260K", "stories260K.gguf"))}`,
      'data: { texts: ["Once upon a time"] }',
      "method: { _tag: logit-lens, topK: 1 }",
    ]);
    const s = await run(file, "store-stories-gguf");
    const r = s.cells[0]!.result as ReadoutCellResult;
    // stories260K.gguf: 48 float32 tensors and no general.file_type
    expect(r.model.quantization).toEqual({ counts: { F32: 48 } });
    expect(Object.keys(r.model)).toEqual(["name", "weightsHash", "nLayers", "nHeads", "quantization"]);
  });
});
