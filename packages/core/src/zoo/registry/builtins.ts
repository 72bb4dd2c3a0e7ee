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
