import * as ort from "onnxruntime-node";
import { GraphBuilder, toOnnx } from "../src/graph/index.ts";

/**
 * Raw ORT MatMul, the yardstick for the forward: [M, K] · [K, N] costs 2·M·K·N FLOPs. The default
 * shape is GPT-2 small's MLP input projection at batch 8 × 128 tokens. Returns a runner to time
 * side by side with other work, and its FLOP count.
 */
export const matmulRunner = async (M = 1024, K = 768, N = 3072) => {
  const g = new GraphBuilder("matmul");
  const x = g.input("x", "float32", [M, K]);
  const w = new Float32Array(K * N).map((_, i) => ((i * 2654435761) % 1000) / 1000 - 0.5);
  g.output(g.named(g.matmul(x, g.weight("w", { data: w, shape: [K, N] })), "y"));
  const session = await ort.InferenceSession.create(toOnnx(g.build()).model, {
    graphOptimizationLevel: "all",
  });
  const feed = { x: new ort.Tensor("float32", new Float32Array(M * K).fill(0.01), [M, K]) };
  return { run: () => session.run(feed), flops: 2 * M * K * N, release: () => session.release() };
};
