import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  builtinCircuit,
  EdgeAblation,
  InputError,
  isBuiltinPath,
  MetricKind,
  openModel,
  readTaskFile,
  taskFor,
} from "@patchbay/core";
import { type Flags, intFlag, numberFlag, openOptions, required, UsageError } from "@patchbay/core/cli";
import { Effect, Schema } from "effect";
import { toDot, toMibJson, toSvg } from "../export/index.ts";
import {
  compareToTruth,
  type Discovered,
  type Discovery,
  discover,
  type Method,
} from "../methods/discover.ts";
import { prepareEdges } from "../methods/setup.ts";

/**
 * `patchbay circuit --model M [--task FILE.jsonl] --method eap|eap-ig|eap-ig-activations|exact|acdc`:
 * discover a circuit, print its best edges, its faithfulness (mean and per-example spread), the
 * attribution's rank agreement with exact patching, and — for builtins — precision, recall and
 * ROC AUC against the ground truth; `--out DIR` writes circuit.json (EAP-IG/MIB), .dot and .svg.
 */
export const circuitFlags = {
  model: "string",
  tokenizer: "string",
  threads: "string",
  ep: "string",
  json: "boolean",
  task: "string",
  n: "string",
  seed: "string",
  method: "string",
  steps: "string",
  tau: "string",
  order: "string",
  metric: "string",
  ablation: "string",
  granularity: "string",
  top: "string",
  out: "string",
} as const;

export const circuitUsage =
  "circuit --model M [--task FILE.jsonl | (builtin task) --n N --seed S] [--method eap|eap-ig|eap-ig-activations|exact|acdc] [--steps K] [--tau T] [--metric logit-diff] [--ablation resample|zero|mean|mean-positional] [--top N (default: smallest circuit with faithfulness ≥ 0.9)] [--out DIR] [--json]";

const choice = <A extends string>(f: Flags, name: string, options: readonly A[], fallback: A): A => {
  const v = f[name];
  if (v === undefined) return fallback;
  if (typeof v !== "string" || !options.includes(v as A))
    throw new UsageError({
      message: `--${name}: expected one of ${options.join(", ")}, found ${JSON.stringify(v)}`,
    });
  return v as A;
};

export const methodFromFlags = (f: Flags): Method => {
  const m = choice(
    f,
    "method",
    ["eap", "eap-ig", "eap-ig-inputs", "eap-ig-activations", "exact", "acdc"] as const,
    "eap-ig",
  );
  const steps = intFlag(f, "steps", 5, 1);
  switch (m) {
    case "eap":
      return { _tag: "eap" };
    case "eap-ig":
    case "eap-ig-inputs":
      return { _tag: "eap-ig-inputs", steps };
    case "eap-ig-activations":
      return { _tag: "eap-ig-activations", steps };
    case "exact":
      return { _tag: "exact" };
    case "acdc":
      return {
        _tag: "acdc",
        tau: numberFlag(f, "tau", 0.1, 0),
        order: choice(f, "order", ["normal", "reverse", "random"] as const, "normal"),
        seed: intFlag(f, "seed", 0),
        absolute: false,
      };
  }
};

const fmt = (x: number, digits = 3) => (Number.isFinite(x) ? x.toFixed(digits) : String(x));

export const printDiscovery = (r: Discovered, names: readonly string[], top = 12): void => {
  const order = [...r.scores.keys()]
    .filter((i) => Number.isFinite(r.scores[i]!))
    .sort((a, b) => Math.abs(r.scores[b]!) - Math.abs(r.scores[a]!));
  console.log(`\n${r.method}: ${r.runs} runs, ${r.seconds.toFixed(2)} s`);
  console.log(`best edges (score = loss increase when the edge is ablated):`);
  for (const i of order.slice(0, top))
    console.log(`  ${r.inGraph[i] ? "●" : "○"} ${names[i]!.padEnd(22)} ${fmt(r.scores[i]!, 4).padStart(9)}`);
  const e = r.evaluation;
  const s = e.perExample;
  console.log(
    `circuit: ${e.edges} edges; faithfulness ${fmt(e.faithfulness)} (per example: median ${fmt(s.median)}, IQR ${fmt(s.q25)}–${fmt(s.q75)}, min ${fmt(s.min)}, max ${fmt(s.max)}); metric full ${fmt(r.full)}, empty ${fmt(r.empty)}, circuit ${fmt(e.metric)}`,
  );
  if (r.check !== null)
    console.log(
      `rank agreement with exact patching on ${r.check.sampled.length} sampled edges: Spearman ${fmt(r.check.spearman)}`,
    );
};

export const circuitCommand = (f: Flags) =>
  Effect.scoped(
    Effect.gen(function* () {
      const modelPath = required(f, "model");
      const model = yield* openModel(modelPath, openOptions(f));
      const n = intFlag(f, "n", 32, 1);
      const seed = intFlag(f, "seed", 0);
      const metric = yield* Schema.decodeUnknown(MetricKind)(f.metric ?? "logit-diff").pipe(
        Effect.mapError(
          () => new UsageError({ message: `--metric: expected one of ${MetricKind.literals.join(", ")}` }),
        ),
      );
      const task =
        typeof f.task === "string"
          ? yield* readTaskFile(f.task, model.tokenizer ?? undefined, {
              vocabSize: model.config.vocabSize,
              metric,
            })
          : isBuiltinPath(modelPath)
            ? taskFor(modelPath, { seed, n })
            : yield* new InputError({
                field: "--task",
                expected:
                  "a task file (JSONL, see packages/core/src/zoo/tasks/FORMAT.md) for a non-builtin model",
                found: "nothing",
              });
      const ablation = yield* Schema.decodeUnknown(EdgeAblation)(f.ablation ?? "resample").pipe(
        Effect.mapError(
          () =>
            new UsageError({ message: `--ablation: expected one of ${EdgeAblation.literals.join(", ")}` }),
        ),
      );
      const granularity = choice(f, "granularity", ["head", "layer"] as const, "head");
      const setup = yield* prepareEdges(
        model.sessions,
        model,
        {
          ...task,
          ablation,
          metric,
          ...(ablation.startsWith("mean") ? { reference: [...task.clean, ...task.corrupted] } : {}),
        },
        granularity,
      );
      const spec: Discovery = {
        method: methodFromFlags(f),
        // --top N, else the smallest top-n circuit (pruned) with faithfulness ≥ 0.9
        selection:
          f.top !== undefined
            ? { _tag: "top-n" as const, n: intFlag(f, "top", 1, 1), absolute: true }
            : { _tag: "faithful" as const, target: 0.9, absolute: true },
        checkSample: 64,
        checkSeed: seed,
      };
      const r = yield* discover(setup, spec);
      const names = setup.layout.edges.map((e) => e.name);
      const truthEdges =
        isBuiltinPath(modelPath) && granularity === "head" && ablation === "resample"
          ? builtinCircuit(modelPath).edges
          : null;
      const truth =
        truthEdges !== null ? compareToTruth(setup.layout, r.inGraph, r.scores, truthEdges) : null;
      if (typeof f.out === "string") {
        mkdirSync(f.out, { recursive: true });
        const circuit = { layout: setup.layout, inGraph: r.inGraph, scores: r.scores };
        if (granularity === "head")
          writeFileSync(
            join(f.out, "circuit.json"),
            JSON.stringify(toMibJson(setup.layout, circuit, model.config), null, 1),
          );
        writeFileSync(join(f.out, "circuit.dot"), toDot(circuit));
        writeFileSync(join(f.out, "circuit.svg"), toSvg(circuit));
      }
      if (f.json === true) {
        console.log(
          JSON.stringify(
            {
              model: model.config.name,
              method: r.method,
              edges: names.filter((_, i) => r.inGraph[i]),
              scores: Object.fromEntries(
                names.map((nm, i) => [nm, Number.isFinite(r.scores[i]!) ? r.scores[i] : null]),
              ),
              faithfulness: r.evaluation.faithfulness,
              perExample: r.evaluation.perExample,
              spearmanVsExact: r.check?.spearman ?? null,
              truth,
            },
            null,
            1,
          ),
        );
        return;
      }
      console.log(
        `${model.config.name}: ${setup.layout.edges.length} edges; ${task.clean.length} examples, ${metric}, ${ablation} ablation`,
      );
      printDiscovery(r, names);
      if (truth !== null) {
        console.log(
          `against the ground truth (${truth.truth} edges): found ${truth.found}, correct ${truth.correct}; precision ${fmt(truth.precision)}, recall ${fmt(truth.recall)}, ROC AUC ${fmt(truth.auc)}`,
        );
        if (truth.missing.length > 0) console.log(`  missing: ${truth.missing.join(", ")}`);
        if (truth.extra.length > 0) console.log(`  extra:   ${truth.extra.join(", ")}`);
      }
      if (typeof f.out === "string") console.log(`wrote ${join(f.out, "circuit.{json,dot,svg}")}`);
    }),
  );
