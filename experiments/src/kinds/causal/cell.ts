import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import {
  type Alignment,
  type CounterfactualExample,
  causalBuiltin,
  counterfactuals,
  dasWithControls,
  das,
  familyOf,
  iia,
  iiaSweep,
  isRotation,
  loadRotation,
  type PositionSpec,
  positionLabel,
  rotationArtifact,
  rotationValues,
  type Rotations,
  type VariableAlignment,
} from "@patchbay/causal";
import { InputError, attempt } from "@patchbay/core/errors";
import type { Model } from "@patchbay/core/model";
import { makeSessionCache, openModel, type SessionCache } from "@patchbay/core/runtime";
import { isSourcePath, type Quantization } from "@patchbay/core/weights";
import { Effect, type Scope } from "effect";
import { type CellIdentity, cellEnvelope } from "../../results/envelope.ts";
import { type ModelInfo, withProvenance } from "../../results/model-info.ts";
import type { CellFile, CellRun } from "../kind.ts";
import type { CausalCellResult } from "./result.ts";
import type { CausalCellSpec } from "./spec.ts";
import { checkPositions, familyNamed } from "./checks.ts";
import { checkSites } from "../../run/sites.ts";
import { canonicalJson, cellIdOf, patchbayVersion, sha256, weightsHash } from "../../run/hash.ts";
import { CELL_ERRORS, type CellError } from "../../run/cell-errors.ts";

/**
 * One causal-abstraction cell (kind "causal"): build the causal task and its counterfactual data
 * (seeded), open the network (the task's own, or the spec's model), run the method, and return
 * the result plus the files it produced (DAS rotation artifacts), which the store writes next to
 * the result. A pure function of its serialisable input.
 */
export interface CausalCellInput {
  readonly spec: CausalCellSpec;
  readonly baseDir: string;
}

interface Prepared {
  readonly model: Model & {
    readonly name: string;
    readonly revision?: ModelInfo["revision"];
    readonly quantization?: Quantization;
  };
  readonly sessions: SessionCache;
  readonly builtin: ReturnType<typeof causalBuiltin>;
  readonly family: string;
  readonly main: readonly CounterfactualExample[];
  readonly test: readonly CounterfactualExample[];
  readonly heldOut: Readonly<Record<string, readonly CounterfactualExample[]>>;
  readonly rotations: Rotations;
  readonly weightsHash: string;
  readonly datasetHash: string;
  readonly cellId: string;
}

const prepare = (input: CausalCellInput): Effect.Effect<Prepared, CellError, Scope.Scope> =>
  Effect.gen(function* () {
    const { spec } = input;
    const builtin = yield* attempt(() => causalBuiltin(spec.task.builtin, spec.task.options), ...CELL_ERRORS);
    const { task } = builtin;
    let model: Prepared["model"];
    let sessions: SessionCache;
    if (spec.model === null) {
      model = { ...builtin.network, name: builtin.network.config.name };
      sessions = yield* makeSessionCache(builtin.network.config.name, { threads: spec.runtime.threads });
    } else {
      const path = isSourcePath(spec.model) ? spec.model : resolve(input.baseDir, spec.model);
      const opened = yield* openModel(path, { threads: spec.runtime.threads });
      if (opened.config.vocabSize < builtin.network.config.vocabSize)
        return yield* new InputError({
          field: "model",
          expected: `a model with at least the task's ${builtin.network.config.vocabSize} tokens (${task.name})`,
          found: `${opened.config.name} with ${opened.config.vocabSize}`,
        });
      model = {
        config: opened.config,
        weights: opened.weights,
        name: opened.config.name,
        ...(opened.revision === undefined ? {} : { revision: opened.revision }),
        ...(opened.quantization === undefined ? {} : { quantization: opened.quantization }),
      };
      sessions = opened.sessions;
    }
    const family = yield* familyNamed(task, spec.task.family, "task.family");
    for (const [i, name] of spec.task.heldOut.entries()) yield* familyNamed(task, name, `task.heldOut[${i}]`);
    const seed = spec.task.seed;
    // disjoint streams: evaluated/trained pairs, test pairs (das), each held-out family (das, iia)
    const m = spec.method;
    const { main, test, heldOut } = yield* attempt(
      () => ({
        main: counterfactuals(task.model, family, { n: spec.task.n, seed }),
        test:
          m._tag === "das"
            ? counterfactuals(task.model, family, { n: spec.task.test, seed: seed + 1_000_003 })
            : [],
        heldOut: Object.fromEntries(
          (m._tag === "iia-sweep" ? [] : spec.task.heldOut).map((name, i) => [
            name,
            counterfactuals(task.model, familyOf(task, name), {
              n: spec.task.test,
              seed: seed + 2_000_003 + i,
            }),
          ]),
        ),
      }),
      ...CELL_ERRORS,
    );
    // rotation artifacts given to an iia cell (relative to the experiment file)
    const rotations: Record<string, Rotations[string]> = {};
    const artifactHashes: Record<string, string> = {};
    if (spec.method._tag === "iia")
      for (const [variable, file] of Object.entries(spec.method.rotations)) {
        const path = resolve(input.baseDir, file);
        const loaded = yield* loadRotation(path);
        const alignment = yield* alignmentOf({ builtin }, spec.method.alignment);
        const entry = alignment.find((a) => a.variable === variable);
        if (entry === undefined || !isRotation(entry.subspace) || entry.subspace.rank !== loaded.learned.rank)
          return yield* new InputError({
            field: `method.rotations.${variable}`,
            expected: `an alignment of ${variable} with subspace {rank: ${loaded.learned.rank}} (the artifact's rank)`,
            found: entry === undefined ? "no alignment of that variable" : JSON.stringify(entry.subspace),
          });
        rotations[variable] = rotationValues(loaded.learned);
        artifactHashes[variable] = sha256(readFileSync(path));
      }
    // every site and position the method names exists (before anything runs, and for `validate`)
    const badSite = checkSites(m, model.config);
    if (badSite !== null) return yield* badSite;
    yield* attempt(() => checkPositions(builtin, m, [...main, ...test]), ...CELL_ERRORS);
    const w = weightsHash(model.weights);
    const d = sha256(canonicalJson({ main, test, heldOut, artifacts: artifactHashes }));
    return {
      model,
      sessions,
      builtin,
      family: family.name,
      main,
      test,
      heldOut,
      rotations,
      weightsHash: w,
      datasetHash: d,
      cellId: cellIdOf(spec, w, d, patchbayVersion()),
    };
  });

/** An alignment as written: inline, or the name of one of the builtin task's alignments. */
const alignmentOf = (
  p: { readonly builtin: Prepared["builtin"] },
  a: string | Alignment,
): Effect.Effect<Alignment, CellError> => {
  if (typeof a !== "string") return Effect.succeed(a);
  const named = p.builtin.alignments[a];
  return named !== undefined
    ? Effect.succeed(named)
    : Effect.fail(
        new InputError({
          field: "method.alignment",
          expected: `an alignment or one of the task's named alignments: ${Object.keys(p.builtin.alignments).join(", ")}`,
          found: JSON.stringify(a),
        }),
      );
};

const examplesOf = (p: Prepared): number =>
  p.main.length + p.test.length + Object.values(p.heldOut).reduce((a, x) => a + x.length, 0);

const identityOf = (p: Prepared): CellIdentity => ({
  cellId: p.cellId,
  weightsHash: p.weightsHash,
  datasetHash: p.datasetHash,
  examples: examplesOf(p),
  patchbayVersion: patchbayVersion(),
});

export const causalIdentity = (input: CausalCellInput) =>
  Effect.scoped(Effect.map(prepare(input), identityOf));

/** The sites of a sweep: "resid" = resid_pre of every layer, then the last layer's resid_post. */
const sweepSites = (sites: "resid" | readonly string[], nLayers: number): string[] =>
  sites === "resid"
    ? [
        ...Array.from({ length: nLayers }, (_, l) => `blocks.${l}.resid_pre`),
        `blocks.${nLayers - 1}.resid_post`,
      ]
    : [...sites];

const allPositions = (p: Prepared): Effect.Effect<PositionSpec[], CellError> =>
  attempt(
    () => {
      const lengths = new Set(p.main.map((e) => p.builtin.task.encode(e.base).length));
      if (lengths.size !== 1)
        throw new InputError({
          field: "method.positions",
          expected: '"all" only for prompts of one length (or list position specs)',
          found: `lengths ${[...lengths].join(", ")}`,
        });
      const [n] = [...lengths];
      return Array.from({ length: n! }, (_, index) => ({ index }));
    },
    ...CELL_ERRORS,
  );

export const runCausalCell = (input: CausalCellInput): Effect.Effect<CellRun<CausalCellResult>, CellError> =>
  Effect.scoped(
    Effect.gen(function* () {
      const t0 = performance.now();
      const { spec } = input;
      const p = yield* prepare(input);
      const { task } = p.builtin;
      const m = spec.method;
      const files: CellFile[] = [];
      let iiaOut: CausalCellResult["iia"] = null;
      let sweepOut: CausalCellResult["sweep"] = null;
      let dasOut: CausalCellResult["das"] = null;
      if (m._tag === "iia") {
        const alignment = yield* alignmentOf(p, m.alignment);
        // accuracy on the main family; held-out families appear in perFamily
        const all = [...p.main, ...Object.values(p.heldOut).flat()];
        const r = yield* iia(p.sessions, p.model, task, alignment, all, { rotations: p.rotations });
        const main = r.correct.slice(0, p.main.length).filter(Boolean).length / p.main.length;
        iiaOut = { accuracy: main, n: p.main.length, perFamily: r.perFamily };
      } else if (m._tag === "iia-sweep") {
        const positions = m.positions === "all" ? yield* allPositions(p) : [...m.positions];
        const r = yield* iiaSweep(
          p.sessions,
          p.model,
          task,
          {
            variable: m.variable,
            sites: sweepSites(m.sites, p.model.config.nLayers),
            positions,
            subspace: m.subspace,
            ...(m.heads !== undefined ? { heads: m.heads } : {}),
          },
          p.main,
        );
        const { n: _n, ...grid } = r;
        sweepOut = grid;
      } else {
        // Boundless DAS rotates every coordinate and learns its mask: no rank (the file's is refused)
        const entry: VariableAlignment = {
          variable: m.variable,
          site: m.site,
          positions: m.positions,
          subspace: m.boundless === undefined ? { rank: m.rank } : "full",
          ...(m.heads !== undefined ? { heads: m.heads } : {}),
        };
        const opts = {
          parametrization: m.parametrization,
          ...(m.boundless === undefined ? { rank: m.rank } : {}),
          steps: m.steps,
          lr: m.lr,
          batchSize: m.batchSize,
          warmup: m.warmup,
          seed: spec.seed,
          ...(m.boundless !== undefined
            ? {
                boundless: {
                  sizePenalty: m.boundless.sizePenalty,
                  lr: m.boundless.lr,
                  temperature: { from: m.boundless.from, to: m.boundless.to, schedule: m.boundless.schedule },
                },
              }
            : {}),
        };
        const report = m.controls
          ? yield* dasWithControls(
              p.sessions,
              p.model,
              task,
              entry,
              { train: p.main, test: p.test, heldOut: p.heldOut },
              opts,
            )
          : yield* Effect.gen(function* () {
              const fit = yield* das(p.sessions, p.model, task, entry, p.main, opts);
              const aligned = [{ ...entry, subspace: { rank: fit.learned.rank } }];
              const rot = { [entry.variable]: rotationValues(fit.learned) };
              const train = (yield* iia(p.sessions, p.model, task, aligned, p.main, { rotations: rot }))
                .accuracy;
              const test = (yield* iia(p.sessions, p.model, task, aligned, p.test, { rotations: rot }))
                .accuracy;
              return { das: fit, iia: { train, test }, controls: null };
            });
        const learned = report.das.learned;
        const artifact = `artifacts/${p.cellId}/${m.variable}.rotation.json`;
        const saved = rotationArtifact(
          { ...entry, subspace: { rank: learned.rank } },
          p.model.name,
          learned,
          {
            weightsHash: p.weightsHash,
            iia: report.iia.test,
          },
        );
        files.push({ path: artifact, content: `${JSON.stringify(saved)}\n` });
        dasOut = {
          variable: m.variable,
          site: m.site,
          positions: m.positions.map(positionLabel),
          parametrization: m.parametrization,
          rank: learned.rank,
          size: learned.mask === null ? learned.rank : learned.mask.reduce((a, b) => a + b, 0),
          iia: report.iia,
          controls: report.controls,
          curve: report.das.curve,
          artifact,
        };
      }
      const familyVars = task.families.find((f) => f.name === p.family)!.variables.flat();
      const result: CausalCellResult = {
        ...cellEnvelope(
          "causal",
          identityOf(p),
          spec,
          withProvenance({ ...p.model.config, name: p.model.name }, p.model),
          m._tag,
        ),
        task: { name: task.name, family: p.family, variables: familyVars },
        iia: iiaOut,
        sweep: sweepOut,
        das: dasOut,
      };
      return { result, seconds: (performance.now() - t0) / 1000, files };
    }),
  );
