import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { attempt, InputError } from "@patchbay/core/errors";
import { GRANULARITIES } from "@patchbay/core/edges";
import { openModel } from "@patchbay/core/runtime";
import { builtinCircuit, isBuiltinPath, readTaskFile, taskFor } from "@patchbay/zoo";
import {
  choice,
  EDGE_ABLATIONS,
  type Flags,
  intFlag,
  METRIC_KINDS,
  numberFlag,
  openOptions,
  required,
  UsageError,
} from "@patchbay/core/cli";
import { Effect } from "effect";
import { mibJsonProblem, toDot, toMibJson, toSvg } from "../export/index.ts";
import {
  compareToTruth,
  type Discovered,
  type Discovery,
  discover,
  type Method,
} from "../methods/discover.ts";
import { discoveryProblem } from "../methods/options.ts";
import { ACDC_ORDERS } from "../methods/names.ts";
import { prepareEdges, taskReference } from "../methods/setup.ts";
import { CIRCUIT_METHODS } from "./choices.ts";

/**
 * `patchbay circuit --model M [--task FILE.jsonl] --method eap|eap-ig|eap-ig-activations|exact|acdc`:
 * discover a circuit, print its best edges, its faithfulness (mean and per-example spread), the
 * attribution's rank agreement with exact patching, and — for builtins — precision, recall and
 * ROC AUC against the ground truth; `--out DIR` writes circuit.json (EAP-IG/MIB), .dot and .svg.
 */
/** A flag the chosen method does not read: a usage error naming the flag, the method and what reads it. */
const notWith = (f: Flags, flags: readonly string[], method: string, readBy: string): void => {
  const given = flags.find((x) => f[x] !== undefined);
  if (given !== undefined)
    throw new UsageError({
      message: `--${given} does nothing with --method ${method}: only ${readBy} read it`,
    });
};

/**
 * The method from flags; flags the method would not read are usage errors (--steps: EAP-IG only;
 * --tau, --order: ACDC only). ACDC's seed is --seed when the order is random (else 0).
 */
export const methodFromFlags = (f: Flags): Method => {
  const m = choice(f, "method", CIRCUIT_METHODS, "eap-ig");
  if (m !== "acdc") notWith(f, ["tau", "order"], m, "--method acdc");
  if (!m.startsWith("eap-ig"))
    notWith(f, ["steps"], m, "--method eap-ig, eap-ig-inputs and eap-ig-activations");
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
    case "acdc": {
      notWith(f, ["top"], m, "the score-based methods (ACDC decides its circuit itself, by --tau)");
      const order = choice(f, "order", ACDC_ORDERS, "normal");
      return {
        _tag: "acdc",
        tau: numberFlag(f, "tau", 0.1, 0),
        order,
        seed: order === "random" ? intFlag(f, "seed", 0) : 0,
        absolute: false,
      };
    }
  }
};

/**
 * The whole discovery from flags. --seed seeds everything random in a run: the builtin task, the
 * sample of edges checked against exact patching, and ACDC's random parent order.
 */
export const discoveryFromFlags = (f: Flags): Discovery => {
  const method = methodFromFlags(f);
  return {
    method,
    // --top N, else the smallest top-n circuit (pruned) with faithfulness ≥ 0.9; ACDC: its own
    ...(method._tag === "acdc"
      ? {}
      : {
          selection:
            f.top !== undefined
              ? { _tag: "top-n" as const, n: intFlag(f, "top", 1, 1), absolute: true }
              : { _tag: "faithful" as const, target: 0.9, absolute: true },
        }),
    checkSample: 64,
    checkSeed: intFlag(f, "seed", 0),
  };
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
      if (typeof f.task === "string" && f.n !== undefined)
        throw new UsageError({
          message: "--n sets the size of a builtin's generated task; --task FILE has its own",
        });
      if (typeof f.task !== "string" && f.tokenizer !== undefined)
        throw new UsageError({ message: "--tokenizer reads the texts of a --task file; there is none" });
      const spec = discoveryFromFlags(f);
      const granularity = choice(f, "granularity", GRANULARITIES, "head");
      const model = yield* openModel(modelPath, openOptions(f));
      const n = intFlag(f, "n", 32, 1);
      const seed = intFlag(f, "seed", 0);
      const metric = choice(f, "metric", METRIC_KINDS, "logit-diff");
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
                expected: "a task file (JSONL, see packages/zoo/src/tasks/FORMAT.md) for a non-builtin model",
                found: "nothing",
              });
      const ablation = choice(f, "ablation", EDGE_ABLATIONS, "resample");
      // refused combinations (e.g. eap-ig over inputs with zero ablation) before any run
      const refused = discoveryProblem(spec, ablation);
      if (refused !== null) return yield* refused;
      const setup = yield* prepareEdges(
        model.sessions,
        model,
        {
          ...task,
          ablation,
          metric,
          ...taskReference(task, ablation),
        },
        granularity,
      );
      const r = yield* discover(setup, spec);
      const names = setup.layout.edges.map((e) => e.name);
      // the builtin's ground truth for this ablation (resample: the default task's; zero: its own)
      const builtin = isBuiltinPath(modelPath) && granularity !== "layer" ? builtinCircuit(modelPath) : null;
      const truthEdges =
        builtin === null
          ? null
          : ablation === "resample"
            ? (builtin.edges ?? builtin.variants.resample ?? null)
            : ablation === "zero"
              ? (builtin.variants.zero ?? null)
              : null;
      const truth =
        truthEdges !== null
          ? yield* attempt(() => compareToTruth(setup.layout, r.inGraph, r.scores, truthEdges), InputError)
          : null;
      // MIB JSON needs head nodes with a <k>/<v> per query head (not layer, not shared GQA kv)
      const noMib = mibJsonProblem(setup.layout);
      const written: string[] = [];
      if (typeof f.out === "string") {
        mkdirSync(f.out, { recursive: true });
        const circuit = { layout: setup.layout, inGraph: r.inGraph, scores: r.scores };
        if (noMib === null) {
          writeFileSync(
            join(f.out, "circuit.json"),
            JSON.stringify(toMibJson(setup.layout, circuit, model.config), null, 1),
          );
          written.push(join(f.out, "circuit.json"));
        }
        writeFileSync(join(f.out, "circuit.dot"), toDot(circuit));
        writeFileSync(join(f.out, "circuit.svg"), toSvg(circuit));
        written.push(join(f.out, "circuit.dot"), join(f.out, "circuit.svg"));
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
              ...(typeof f.out === "string"
                ? { written, circuitJson: noMib === null ? "written" : noMib.message }
                : {}),
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
      if (typeof f.out === "string") {
        console.log(`wrote ${written.join(", ")}`);
        if (noMib !== null) console.log(`circuit.json not written: ${noMib.message}`);
      }
    }),
  );
