import { resolve } from "node:path";
import { InputError, type OpenModel, openModel, type PatchbayError } from "@patchbay/core";
import { isBuiltinPath } from "@patchbay/zoo";
import {
  attentionPatterns,
  directLogitAttribution,
  erase,
  evaluateLens,
  explainNeuron,
  httpAccessFromEnv,
  httpExplainer,
  httpSimulator,
  inputAttribution,
  localExplainer,
  localSimulator,
  type NeuronExplainer,
  type NeuronSimulator,
  neuronRecordToJson,
  patchscopeSweep,
  probeSites,
  recordsDraw,
  ruleBasedExplainer,
  ruleBasedSimulator,
  runPatchscope,
  runSae,
  featureCircuit,
  type SteeringData,
  saeFromArtifact,
  splitPrompts,
  steer,
  trainTunedLens,
  tunedLensArtifact,
} from "@patchbay/readouts";
import { Effect, Either, type Scope } from "effect";
import type { ReadoutCellResult, ReadoutOutput } from "../results/readout.ts";
import type { ReadoutCellSpec } from "../spec/readout.ts";
import type { CellFile } from "./causal-cell.ts";
import { errorBoundary } from "./boundary.ts";
import { type Dataset, datasetOf, expectedAt, slotsOf } from "./readout-data.ts";
import { canonicalJson, cellIdOf, patchbayVersion, sha256, weightsHash } from "./hash.ts";

/**
 * One readout cell (kind "readout"): open the model, resolve the dataset (a builtin task, texts
 * through the model's tokenizer, or one of the readouts package's built-in datasets), run the
 * method through @patchbay/readouts, and return its JSON plus the files it produced (tuned-lens
 * translators, SAE weights: `artifacts/<cellId>/…`), which the store writes next to the result.
 * A pure function of its serialisable input: every method is seeded, so reruns are byte-identical.
 */
export interface ReadoutCellInput {
  readonly spec: ReadoutCellSpec;
  readonly baseDir: string;
}

interface Prepared {
  readonly model: OpenModel;
  readonly data: Dataset;
  readonly weightsHash: string;
  readonly datasetHash: string;
  readonly cellId: string;
}

/** Errors of the readouts package that are not patchbay errors cross the boundary as InputErrors. */
const { attempt, mapErrors: mapReadout } = errorBoundary((e) => {
  if (typeof e !== "object" || e === null || !("_tag" in e)) return null;
  const x = e as { readonly _tag: string; readonly message?: string; readonly field?: string };
  return new InputError({
    field: `method (${x._tag})`,
    expected: "a successful readout",
    found: x.message ?? JSON.stringify(e),
  });
});

const prepare = (input: ReadoutCellInput): Effect.Effect<Prepared, PatchbayError, Scope.Scope> =>
  Effect.gen(function* () {
    const { spec } = input;
    const path = isBuiltinPath(spec.model) ? spec.model : resolve(input.baseDir, spec.model);
    const model = yield* openModel(path, { threads: spec.runtime.threads });
    const data = yield* attempt(() => datasetOf(spec, model));
    const w = weightsHash(model.weights);
    const d = sha256(canonicalJson(data));
    return { model, data, weightsHash: w, datasetHash: d, cellId: cellIdOf(spec, w, d, patchbayVersion()) };
  });

export const readoutIdentity = (input: ReadoutCellInput) =>
  Effect.scoped(
    Effect.map(prepare(input), (p) => ({
      cellId: p.cellId,
      weightsHash: p.weightsHash,
      datasetHash: p.datasetHash,
      examples: p.data.prompts.length,
      patchbayVersion: patchbayVersion(),
    })),
  );

const need = <A>(v: A | null, field: string, expected: string, found: string): A => {
  if (v === null) throw new InputError({ field, expected, found });
  return v;
};

const neuronModels = (
  p: Prepared,
  m: Extract<ReadoutCellSpec["method"], { _tag: "neurons" }>,
): { explainer: NeuronExplainer<unknown>; simulator: NeuronSimulator<unknown> } => {
  const x = m.models;
  if (x._tag === "rule-based") return { explainer: ruleBasedExplainer(), simulator: ruleBasedSimulator() };
  if (x._tag === "http") {
    const { _tag, ...spec } = x;
    // the hosts and the key are the user's (their environment / CLI flags), never the file's
    const access = httpAccessFromEnv();
    return { explainer: httpExplainer(spec, access), simulator: httpSimulator(spec, access) };
  }
  const tok = need(
    p.model.tokenizer,
    "method.models",
    "a model with a tokenizer for the local explainer (e.g. stories260K)",
    `${p.model.config.name} without a tokenizer`,
  );
  const { _tag, ...spec } = x;
  const lm = { cache: p.model.sessions, model: p.model, tokenizer: tok };
  return { explainer: localExplainer(lm, spec), simulator: localSimulator(lm, spec) };
};

/** Run the method: its JSON output and the artifacts (relative to the results store). */
const runMethod = (
  p: Prepared,
  spec: ReadoutCellSpec,
): Effect.Effect<{ readonly output: ReadoutOutput; readonly files: CellFile[] }, PatchbayError> =>
  Effect.gen(function* () {
    const m = spec.method;
    const cache = p.model.sessions;
    const model = p.model;
    const files: CellFile[] = [];
    const artifacts = `artifacts/${p.cellId}`;
    switch (m._tag) {
      case "logit-lens": {
        const { _tag, ...s } = m;
        const r = yield* mapReadout(evaluateLens(cache, model, s, { prompts: p.data.prompts }));
        return { output: { method: m._tag, result: r }, files };
      }
      case "tuned-lens": {
        const { _tag, topK, tablePrompt, heldOut, ...train } = m;
        const n = p.data.prompts.length;
        if (heldOut > 0 && n < 2)
          return yield* new InputError({
            field: "method.heldOut",
            expected: "0 with fewer than two prompts (none can be held out and still train)",
            found: `${heldOut} with ${n} prompt${n === 1 ? "" : "s"}`,
          });
        const split =
          heldOut > 0
            ? splitPrompts(n, heldOut, train.seed)
            : { train: p.data.prompts.map((_, i) => i), eval: p.data.prompts.map((_, i) => i) };
        const pick = (idx: readonly number[]) => idx.map((i) => p.data.prompts[i]!);
        // the cell's seed (when the file gives none) orders minibatches only when there are steps
        const trained = { ...train, seed: train.steps > 0 ? train.seed : 0 };
        const fit = yield* mapReadout(trainTunedLens(cache, model, trained, { prompts: pick(split.train) }));
        const report = yield* mapReadout(
          evaluateLens(
            cache,
            model,
            { ...(train.sites !== undefined ? { sites: train.sites } : {}), topK, tablePrompt },
            { prompts: pick(split.eval) },
            fit.lens,
          ),
        );
        const artifact = `${artifacts}/tuned-lens.json`;
        const kl = report.sites.map((site, i) => ({ site, kl: report.kl.tuned?.[i] ?? Number.NaN }));
        const saved = tunedLensArtifact(
          fit.lens,
          kl.filter((k) => Number.isFinite(k.kl)),
        );
        files.push({ path: artifact, content: `${JSON.stringify(saved)}\n` });
        return { output: { method: m._tag, result: { report, curve: fit.curve, split, artifact } }, files };
      }
      case "input-attribution": {
        const { _tag, ...s } = m;
        const slots = yield* attempt(() => slotsOf(p.data));
        const examples = slots.prompts.map((ids, i) => ({
          ids,
          positions: slots.positions[i]!,
          answers: slots.answers[i]!,
          ...(slots.wrong !== undefined ? { wrong: slots.wrong[i]! } : {}),
          ...(slots.baseline !== undefined ? { baseline: slots.baseline[i]! } : {}),
        }));
        const r = yield* mapReadout(inputAttribution(cache, model, s, { examples }));
        return { output: { method: m._tag, result: r }, files };
      }
      case "dla": {
        const { _tag, ...s } = m;
        const slots = yield* attempt(() => slotsOf(p.data));
        const r = yield* mapReadout(
          directLogitAttribution(cache, model, s, {
            prompts: slots.prompts,
            positions: slots.positions,
            answers: slots.answers,
            ...(slots.wrong !== undefined ? { wrong: slots.wrong } : {}),
          }),
        );
        return { output: { method: m._tag, result: r }, files };
      }
      case "attention": {
        const { _tag, ...s } = m;
        const r = yield* mapReadout(attentionPatterns(cache, model, s, { prompts: p.data.prompts }));
        return { output: { method: m._tag, result: r }, files };
      }
      case "probe": {
        const { _tag, site, ...s } = m;
        const data = yield* attempt(() =>
          need(
            p.data.probe,
            "data",
            "a labelled dataset for probe: {example: prev-token}",
            spec.data.kind === "example" ? spec.data.example : spec.data.kind,
          ),
        );
        const sites = typeof site === "string" ? [site] : [...site];
        const r = yield* mapReadout(probeSites(cache, model, s, sites, data));
        return { output: { method: m._tag, result: { sites: r } }, files };
      }
      case "steering": {
        const { _tag, ...s } = m;
        const t = p.data.task;
        // a task steers the corrupted prompts toward the clean ones (v = mean clean − mean corrupted)
        const data: SteeringData | null =
          p.data.steering ??
          (t === null
            ? null
            : {
                positive: t.clean,
                negative: t.corrupted,
                targets: t.corrupted,
                metricPositions: t.positions,
                answers: t.answers,
                wrong: t.wrong,
              });
        const d = yield* attempt(() =>
          need(
            data,
            "data",
            "contrasts for steering: {example: induction-steering | happy-sad} or a builtin task",
            spec.data.kind,
          ),
        );
        const r = yield* mapReadout(steer(cache, model, s, d, model.tokenizer));
        return { output: { method: m._tag, result: r }, files };
      }
      case "erasure": {
        const { _tag, ...s } = m;
        const data = yield* attempt(() =>
          need(
            p.data.probe,
            "data",
            "a labelled dataset for erasure: {example: prev-token}",
            spec.data.kind === "example" ? spec.data.example : spec.data.kind,
          ),
        );
        const r = yield* mapReadout(erase(cache, model, s, data));
        return { output: { method: m._tag, result: r }, files };
      }
      case "neurons": {
        const models = yield* attempt(() => neuronModels(p, m));
        const tok = model.tokenizer;
        const tokens = p.data.prompts.map((ids) => ids.map((id) => (tok ? tok.idToToken(id) : String(id))));
        const r = yield* mapReadout(
          explainNeuron(
            cache,
            model,
            // the cell's seed (when the file gives none) only where records are drawn
            { records: recordsDraw(m.records) ? m.records : { ...m.records, seed: 0 }, score: m.score },
            { prompts: p.data.prompts, tokens },
            models,
          ),
        );
        return {
          output: {
            method: m._tag,
            result: { record: neuronRecordToJson(r.records.record), meta: r.records.meta, score: r.score },
          },
          files,
        };
      }
      case "sae": {
        const { _tag, ...s } = m;
        const { sae, ...r } = yield* mapReadout(runSae(cache, model, s, { prompts: p.data.prompts }));
        // the artifact must read back (a defect of the writer otherwise)
        yield* attempt(() => Either.getOrThrow(saeFromArtifact(sae)));
        const artifact = `${artifacts}/sae.json`;
        files.push({ path: artifact, content: `${JSON.stringify(sae)}\n` });
        return { output: { method: m._tag, result: { ...r, artifact } }, files };
      }
      case "sae-circuit": {
        const { _tag, metric, scores, sizes, selection, circuitsPerRun, ...s } = m;
        const t = yield* attempt(() =>
          need(p.data.task, "data", "a builtin task (clean/corrupted pairs) for the circuit", spec.data.kind),
        );
        // the SAE is trained (and evaluated) on the task's clean prompts, the circuit scored on the pairs
        const { sae: art, ...r } = yield* mapReadout(runSae(cache, model, s, { prompts: p.data.prompts }));
        const sae = yield* attempt(() => Either.getOrThrow(saeFromArtifact(art)));
        const artifact = `${artifacts}/sae.json`;
        files.push({ path: artifact, content: `${JSON.stringify(art)}\n` });
        const circuit = yield* mapReadout(
          featureCircuit(
            cache,
            model,
            sae,
            { positions: s.positions, metric, scores, sizes, selection, circuitsPerRun },
            {
              clean: t.clean,
              corrupted: t.corrupted,
              metric: { positions: t.positions, answers: t.answers, wrong: t.wrong },
            },
          ),
        );
        return { output: { method: m._tag, result: { sae: { ...r, artifact }, circuit } }, files };
      }
      case "patchscope": {
        const { _tag, ...s } = m;
        const t = p.data.task;
        // a task: the clean prompt's h patched into the corrupted one, expecting the clean answer
        // at the readout when it is a metric position; other data: each prompt into itself
        const examples =
          t !== null
            ? t.clean.map((source, i) => ({
                source,
                target: t.corrupted[i]!,
                ...expectedAt(t, i, s.readout < 0 ? t.corrupted[i]!.length + s.readout : s.readout),
              }))
            : p.data.prompts.map((ids) => ({ source: ids, target: ids }));
        const r = yield* mapReadout(runPatchscope(cache, model, s, { examples }));
        return { output: { method: m._tag, result: r }, files };
      }
      case "patchscope-sweep": {
        const { _tag, ...s } = m;
        const slots = yield* attempt(() => slotsOf(p.data));
        const sources = slots.prompts.map((ids, i) => ({
          ids,
          position: slots.positions[i]!.at(-1)!,
          expected: slots.answers[i]!.at(-1)!,
        }));
        const r = yield* mapReadout(patchscopeSweep(cache, model, s, { sources }));
        return { output: { method: m._tag, result: r }, files };
      }
    }
  });

export const runReadoutCell = (
  input: ReadoutCellInput,
): Effect.Effect<
  { readonly result: ReadoutCellResult; readonly seconds: number; readonly files: readonly CellFile[] },
  PatchbayError
> =>
  Effect.scoped(
    Effect.gen(function* () {
      const t0 = performance.now();
      const { spec } = input;
      const p = yield* prepare(input);
      const { output, files } = yield* runMethod(p, spec);
      // JSON round trip: what the store writes is what the caller gets (no typed arrays, no -0)
      const result = JSON.parse(
        JSON.stringify({
          kind: "readout",
          patchbayVersion: patchbayVersion(),
          cellId: p.cellId,
          spec,
          model: {
            name: p.model.config.name,
            weightsHash: p.weightsHash,
            nLayers: p.model.config.nLayers,
            nHeads: p.model.config.nHeads,
          },
          dataset: { hash: p.datasetHash, examples: p.data.prompts.length },
          ...output,
        }),
      ) as ReadoutCellResult;
      return { result, seconds: (performance.now() - t0) / 1000, files };
    }),
  );
