import {
  type InductionCorruption,
  type InductionModelOptions,
  type InductionTaskOptions,
  inductionCircuit,
  inductionModel,
  inductionTask,
} from "../induction.ts";
import { register } from "./registry.ts";

/**
 * The registered builtins: one `register(name, {version, build, ...})` line each. Builders must be
 * lazy arrows (`build: (o) => fooModel(o)`), not bare references: this module is imported by the
 * weight loader, so a zoo module may still be initialising when its line runs. Bump `version`
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
