/**
 * `pnpm bench:large`: a model past protobuf's 2 GB limit loads and runs. A TinyLlama-1.1B-shaped
 * LLaMA (22 layers, d_model 2048, 32 query heads over 4 key/value heads, SwiGLU 5632, vocab 32000,
 * untied head; 1.10 B parameters, 4.4 GB of float32) with seeded random weights is built as an
 * ONNX graph with external data, and one forward runs at batch 1 × 16; the logits are checked
 * finite and against the naive reference at the first position.
 */
import { Effect } from "effect";
import { type ModelConfig, randomWeights } from "../src/model/index.ts";
import { referenceForward } from "../src/reference/index.ts";
import { forward, makeSessionCache } from "../src/runtime/index.ts";
import { peakRssMb } from "./timing.ts";

const config: ModelConfig = {
  name: "tinyllama-1.1b-shaped",
  family: "zoo",
  dModel: 2048,
  nLayers: 22,
  nHeads: 32,
  nKvHeads: 4,
  dHead: 64,
  dMlp: 5632,
  gatedMlp: true,
  act: "silu",
  vocabSize: 32000,
  nCtx: 2048,
  positional: "none",
  rotary: { dim: 64, base: 10000, style: "half" },
  norm: "rmsnorm",
  normEps: 1e-5,
  parallelResidual: false,
  attnScale: 1 / 8,
};

let t = performance.now();
const lap = () => {
  const s = (performance.now() - t) / 1000;
  t = performance.now();
  return `${s.toFixed(1)} s`;
};
const weights = randomWeights(config, 0, { biases: false });
let params = 0;
for (const w of weights.values()) params += w.data.length;
console.log(
  `random weights: ${(params / 1e9).toFixed(3)} B parameters (${((params * 4) / 2 ** 30).toFixed(2)} GiB) in ${lap()}`,
);
const ids = [Array.from({ length: 16 }, (_, i) => (i * 997 + 1) % config.vocabSize)];
const out = await Effect.runPromise(
  Effect.scoped(
    Effect.gen(function* () {
      const cache = yield* makeSessionCache(config.name);
      const first = yield* forward(cache, { config, weights }, ids);
      console.log(`build + external-data ONNX + session + first forward (1 × 16): ${lap()}`);
      yield* forward(cache, { config, weights }, ids);
      console.log(`second forward (1 × 16): ${lap()}`);
      return first;
    }),
  ),
);
const finite = out.logits.data.every(Number.isFinite);
const ref = referenceForward(config, weights, [ids[0]!.slice(0, 1)]);
let worst = 0;
for (let v = 0; v < config.vocabSize; v++)
  worst = Math.max(worst, Math.abs(out.logits.data[v]! - ref.logits.data[v]!));
console.log(
  `logits finite: ${finite}; max |ONNX − reference| at position 0: ${worst.toExponential(2)} (${lap()})`,
);
console.log(`peak RSS: ${(peakRssMb() / 1024).toFixed(1)} GiB`);
if (!finite || !(worst < 1e-3)) process.exit(1);
