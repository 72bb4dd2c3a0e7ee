import { Effect, Either } from "effect";
import { describe, expect, it } from "vitest";
import { decodeExperiment, expandCells } from "./load.ts";

/**
 * Readout and causal experiment files: options the cell's method would ignore are refused when
 * the file is loaded, as ExperimentFileErrors naming the file, the field and what it needs (the
 * readouts' and causal methods' own rules, packages/readouts/src/options.test.ts and
 * packages/causal/src/options.test.ts; the task × method rules of experiments/src/kinds/causal/spec.ts).
 * Defaults the file does not write are never refused, and a method's seed filled from the cell's
 * seed is not "given".
 */
const load = (doc: Record<string, unknown>) =>
  Effect.runSync(Effect.either(Effect.flatMap(decodeExperiment(doc, "audit.yaml"), expandCells)));
const refused = (doc: Record<string, unknown>, ...mentions: string[]) => {
  const r = load(doc);
  if (Either.isRight(r)) throw new Error(`accepted: ${JSON.stringify(doc)}`);
  expect(r.left._tag).toBe("ExperimentFileError");
  expect(r.left.message).toContain("audit.yaml");
  for (const m of mentions) expect(r.left.message, JSON.stringify(doc)).toContain(m);
};
const accepted = (doc: Record<string, unknown>) => {
  const r = load(doc);
  if (Either.isLeft(r)) throw new Error(r.left.message);
  return r.right;
};

const readout = (method: Record<string, unknown>, data: Record<string, unknown> = { task: { n: 4 } }) => ({
  kind: "readout",
  model: "builtin:induction",
  data,
  method,
  seeds: [3],
});
const causal = (task: Record<string, unknown>, method: Record<string, unknown>) => ({
  kind: "causal",
  task: { builtin: "linear-toy", family: "X", ...task },
  method,
});
const das = { _tag: "das", variable: "X", site: "blocks.0.resid_post", positions: ["last"] };
const sweep = { _tag: "iia-sweep", variable: "X", sites: ["blocks.0.resid_post"], positions: ["last"] };

describe("readout experiment files: options the method ignores are refused at load time", () => {
  it("input attribution: IG and occlusion fields with other methods", () => {
    refused(
      readout({ _tag: "input-attribution", methods: ["gradient"], steps: 8 }),
      "method.steps",
      "integrated-gradients",
    );
    refused(
      readout({ _tag: "input-attribution", methods: ["gradient-x-input"], baseline: { _tag: "prompt" } }),
      "method.baseline",
      "occlusion",
    );
    refused(readout({ _tag: "input-attribution", methods: ["occlusion"], rule: "right" }), "method.rule");
    accepted(readout({ _tag: "input-attribution", methods: ["occlusion"], baseline: { _tag: "prompt" } }));
  });

  it("attention, probe, erasure, tuned lens, neurons, SAE", () => {
    refused(
      readout({ _tag: "attention", rollout: false, residualWeight: 0.3 }),
      "method.residualWeight",
      "rollout",
    );
    const prev = { example: "prev-token", n: 8 };
    refused(
      readout(
        { _tag: "probe", site: "blocks.0.resid_post", control: false, controlSampling: "empirical" },
        prev,
      ),
      "method.controlSampling",
    );
    refused(
      readout(
        {
          _tag: "erasure",
          probe: { site: "blocks.0.resid_post", control: false, controlSampling: "empirical" },
        },
        prev,
      ),
      "method.probe.controlSampling",
    );
    refused(readout({ _tag: "tuned-lens", steps: 0, lr: 0.01 }), "method.lr", "steps 0");
    // with steps 0 the seed still splits the held-out prompts; without held-out prompts it reads nothing
    accepted(readout({ _tag: "tuned-lens", steps: 0, seed: 4 }));
    refused(readout({ _tag: "tuned-lens", steps: 0, seed: 4, heldOut: 0 }), "method.seed");
    const records = { site: "blocks.1.attn.z", index: 3, randomK: 0, quantiles: 0 };
    refused(readout({ _tag: "neurons", records: { ...records, seed: 2 } }), "method.records.seed", "randomK");
    refused(
      readout({ _tag: "neurons", records: { ...records, quantiles: 0, perQuantile: 3 } }),
      "method.records.perQuantile",
    );
    refused(
      readout({ _tag: "neurons", records: { ...records, window: 4, before: 4 } }),
      "method.records.before",
    );
    refused(
      readout({
        _tag: "neurons",
        records,
        score: { explanation: "x" },
        models: { _tag: "local", maxTokens: 8 },
      }),
      "method.models.maxTokens",
      "explanation",
    );
    refused(
      readout({ _tag: "sae", site: "blocks.0.resid_post", train: { dictSize: 8, l1: 0, l1Warmup: 10 } }),
      "method.train.l1Warmup",
    );
    refused(
      readout({
        _tag: "sae",
        site: "blocks.0.resid_post",
        train: { dictSize: 8, arch: "gated", decoderNorm: "weighted-l1" },
      }),
      "method.train.decoderNorm",
    );
  });

  it("a method seed filled from the cell's seed is not given: records that draw nothing keep the cells", () => {
    const cells = accepted({
      ...readout({
        _tag: "neurons",
        records: { site: "blocks.1.attn.z", index: 3, randomK: 0, quantiles: 0 },
      }),
      seeds: [0, 1],
    });
    expect(cells).toHaveLength(2);
  });

  it("built-in datasets: n, seed and options the dataset does not read", () => {
    const steer = { _tag: "steering", site: "blocks.1.resid_post" };
    refused(readout(steer, { example: "induction-steering", n: 8 }), "data.n", "prev-token");
    refused(readout(steer, { example: "induction-steering", seed: 1 }), "data.seed", "prev-token");
    refused(
      readout(steer, { example: "induction-steering", options: { length: 4 } }),
      "data.options.length",
      "a, b, others",
    );
    refused(
      readout(
        { _tag: "probe", site: "blocks.0.resid_post" },
        { example: "prev-token", options: { lenght: 4 } },
      ),
      "data.options.lenght",
      "length, vocabSize",
    );
    accepted(readout(steer, { example: "induction-steering", options: { a: 7 } }));
  });
});

describe("causal experiment files: task and method fields the method ignores are refused at load time", () => {
  it("iia-sweep: held-out families, test pairs, a {rank} subspace", () => {
    refused(causal({ heldOut: ["X-same-Y"] }, sweep), "task.heldOut", "iia-sweep");
    refused(causal({ test: 16 }, sweep), "task.test", "iia-sweep");
    refused(causal({}, { ...sweep, subspace: { rank: 1 } }), "method.subspace", "rotation");
    accepted(causal({}, { ...sweep, subspace: { dims: [0] } }));
  });

  it("iia: test pairs without held-out families", () => {
    const iia = { _tag: "iia", alignment: "X" };
    refused(causal({ test: 16 }, iia), "task.test", "heldOut");
    accepted(causal({ test: 16, heldOut: ["X-same-Y"] }, iia));
  });

  it("das: held-out families without controls, a rank with boundless", () => {
    refused(causal({ heldOut: ["X-same-Y"] }, { ...das, controls: false }), "task.heldOut", "controls");
    refused(causal({}, { ...das, rank: 2, boundless: {} }), "method.rank", "boundless");
    accepted(causal({ heldOut: ["X-same-Y"] }, das));
    accepted(causal({}, { ...das, boundless: { sizePenalty: 0.1 } }));
  });
});
