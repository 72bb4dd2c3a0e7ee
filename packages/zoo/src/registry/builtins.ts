import {
  type InductionCorruption,
  type InductionModelOptions,
  type InductionTaskOptions,
  inductionCircuit,
  inductionModel,
  inductionTask,
} from "../induction.ts";
import {
  type FracPrevsModelOptions,
  type FracPrevsTaskOptions,
  fracPrevsCircuit,
  fracPrevsModel,
  fracPrevsTask,
} from "../frac-prevs.ts";
import {
  type ReverseModelOptions,
  type ReverseTaskOptions,
  reverseCircuit,
  reverseModel,
  reverseTask,
} from "../reverse.ts";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { InputError } from "@patchbay/core/errors";
import { loadModelSync } from "@patchbay/core/weights";
import { TRAINED, type TrainedName } from "../train/build.ts";
import { type BuiltModel, register } from "./registry.ts";

/**
 * The registered builtins: one `register(name, {version, build, ...})` line each. Builders must be
 * lazy arrows (`build: (o) => fooModel(o)`), not bare references, so a registration never depends
 * on the order in which the zoo's modules initialise. Bump `version`
 * whenever a builder's output changes (it is part of the cache key).
 */

const CORRUPTIONS: readonly InductionCorruption[] = ["both", "first", "second"];

register("induction", {
  version: 1,
  description:
    "compiled 2-layer induction model (zoo/induction.ts): previous-token head a0.h1, induction head a1.h2",
  defaults: { vocabSize: 32, nCtx: 32, attnLogit: 20, logitScale: 10, distractors: true, seed: 0 },
  build: (o) => ({
    ...inductionModel(o as InductionModelOptions),
    circuit: inductionCircuit(),
    circuits: Object.fromEntries([
      ...CORRUPTIONS.map((c) => [`resample/${c}`, inductionCircuit({ corrupt: c })]),
      ["zero", inductionCircuit({ ablation: "zero" })],
    ]),
  }),
  task: (r, o) =>
    inductionTask(r.seed, r.n, { ...(r.options as InductionTaskOptions), vocabSize: o.vocabSize as number }),
});

register("reverse", {
  version: 1,
  description:
    "compiled tracr-style reverse (zoo/reverse.ts): length head a0.h0, opp-index MLP m0, copy head a1.h0",
  defaults: { maxLen: 8, alphabetSize: 16, attnLogit: 30, logitScale: 10, distractors: true, seed: 0 },
  build: (o) => {
    const { config, weights } = reverseModel(o as ReverseModelOptions);
    return {
      config,
      weights,
      circuit: reverseCircuit(),
      circuits: Object.fromEntries([
        ...(["tokens", "length", "both"] as const).map((c) => [
          `resample/${c}`,
          reverseCircuit({ corrupt: c }),
        ]),
        ["zero", reverseCircuit({ ablation: "zero" })],
      ]),
    };
  },
  task: (r, o) =>
    reverseTask(r.seed, r.n, {
      ...(r.options as ReverseTaskOptions),
      maxLen: o.maxLen as number,
      alphabetSize: o.alphabetSize as number,
    }),
});

register("frac-prevs", {
  version: 1,
  description:
    "compiled tracr-style frac_prevs (zoo/frac-prevs.ts): is_x MLP m0, mean head a1.h0, binning MLP m1",
  defaults: { vocabSize: 6, nCtx: 17, bins: 4, logitScale: 10, distractors: true, seed: 0 },
  build: (o) => {
    const { config, weights } = fracPrevsModel(o as FracPrevsModelOptions);
    return {
      config,
      weights,
      circuit: fracPrevsCircuit(),
      circuits: { resample: fracPrevsCircuit(), zero: fracPrevsCircuit({ ablation: "zero" }) },
    };
  },
  task: (r, o) =>
    fracPrevsTask(r.seed, r.n, {
      ...(r.options as FracPrevsTaskOptions),
      vocabSize: o.vocabSize as number,
      bins: o.bins as number,
    }),
});

/**
 * Trained models (zoo/train): built on first use by training in a child process (the registry's
 * builders are synchronous; training runs ORT asynchronously), 10–30 s each on one thread, then
 * cached like every builtin. Deterministic given the trainer's seed (one ORT thread), so the cache
 * key (name, version) names one set of weights. Ground truth: the edges exact patching keeps
 * (train/circuit.ts), as written in the folder's circuit.json.
 */
const trained = (name: "induction" | "ioi" | "greater-than") => (): BuiltModel => {
  const dir = mkdtempSync(join(tmpdir(), `patchbay-train-${name}-`));
  try {
    // The trainer beside this module: build-all.ts from the TypeScript source (run through tsx),
    // build-all.js from a built package (plain node; tsx is not a runtime dependency).
    const fromSource = import.meta.url.endsWith(".ts");
    const script = fileURLToPath(new URL(`../train/build-all.${fromSource ? "ts" : "js"}`, import.meta.url));
    const runner = fromSource ? [createRequire(import.meta.url).resolve("tsx/cli"), script] : [script];
    const r = spawnSync(process.execPath, [...runner, dir, "--only", name, "--threads", "1"], {
      stdio: ["ignore", process.stderr, process.stderr], // progress to stderr: stdout stays the command's
      env: trainerEnv(),
    });
    if (r.status !== 0)
      throw new InputError({
        field: `builtin:${name === "induction" ? "induction-trained" : name}`,
        expected: "a successful training run",
        found: `exit ${r.status ?? r.signal} from ${script}`,
      });
    const folder = join(dir, name);
    const loaded = loadModelSync(folder);
    const circuit = JSON.parse(readFileSync(join(folder, "circuit.json"), "utf8")) as {
      edges: Record<string, { in_graph: boolean }>;
    };
    return {
      config: loaded.config,
      weights: loaded.weights,
      tokenizer: { "tokenizer.json": readFileSync(join(folder, "tokenizer.json"), "utf8") },
      extra: { "training.json": readFileSync(join(folder, "training.json"), "utf8") },
      circuit: Object.entries(circuit.edges)
        .filter(([, e]) => e.in_graph)
        .map(([n]) => n),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

/**
 * The trainer's environment, spelled out: the variables a Node child needs to find its files and
 * nothing else. Never the parent's environment as a whole — NODE_OPTIONS and friends there (or
 * inherited from a polluted Object.prototype, which child_process enumerates with for…in) would
 * make the child run code nobody asked for. A null-prototype object has nothing to inherit.
 */
const TRAINER_ENV = ["PATH", "HOME", "TMPDIR", "TEMP", "TMP", "LANG", "SYSTEMROOT"] as const;
export const trainerEnv = (): Record<string, string> => {
  const env = Object.create(null) as Record<string, string>;
  for (const k of TRAINER_ENV) {
    const v = Object.hasOwn(process.env, k) ? process.env[k] : undefined;
    if (typeof v === "string") env[k] = v;
  }
  return env;
};

/** A trained model's clean/corrupted pairs in the engine's form (train/*: the ground-truth task). */
const trainedTask = (name: TrainedName, seed: number, n: number) => {
  const t = TRAINED[name].patching(seed, n);
  return {
    clean: t.clean.map((s) => [...s]),
    corrupted: t.corrupted.map((s) => [...s]),
    positions: t.positions,
    answers: t.answers,
    wrong: t.wrong,
  };
};

register("induction-trained", {
  version: 2,
  description:
    "trained 2-layer attention-only induction model (zoo/train/induction.ts); ground truth by exact patching",
  build: () => trained("induction")(),
  task: (r) => trainedTask("induction", r.seed, r.n),
});
register("ioi", {
  version: 2,
  description:
    "trained 2-layer IOI-like model over 8 names (zoo/train/ioi.ts); ground truth by exact patching",
  build: () => trained("ioi")(),
  task: (r) => trainedTask("ioi", r.seed, r.n),
});
register("greater-than", {
  version: 2,
  description:
    "trained 2-layer greater-than model with MLPs (zoo/train/greater-than.ts); ground truth by exact patching",
  build: () => trained("greater-than")(),
  task: (r) => trainedTask("greater-than", r.seed, r.n),
});
