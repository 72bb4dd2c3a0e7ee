import * as ort from "onnxruntime-node";
import { GraphBuilder, toOnnx } from "../src/graph/index.ts";
import { timeIt } from "./timing.ts";

/**
 * Raw ORT MatMul throughput, the yardstick for the forward: [M, K] · [K, N] costs 2·M·K·N FLOPs.
 * The default shape is GPT-2 small's MLP input projection at batch 8 × 128 tokens.
 */
export const matmulGflops = async (M = 1024, K = 768, N = 3072, threads?: number): Promise<number> => {
  const g = new GraphBuilder("matmul");
  const x = g.input("x", "float32", [M, K]);
  const w = new Float32Array(K * N).map((_, i) => ((i * 2654435761) % 1000) / 1000 - 0.5);
  g.output(g.named(g.matmul(x, g.weight("w", { data: w, shape: [K, N] })), "y"));
  const session = await ort.InferenceSession.create(toOnnx(g.build()).model, {
    graphOptimizationLevel: "all",
    ...(threads !== undefined ? { intraOpNumThreads: threads } : {}),
  });
  const feed = { x: new ort.Tensor("float32", new Float32Array(M * K).fill(0.01), [M, K]) };
  const seconds = await timeIt(() => session.run(feed));
  await session.release();
  return (2 * M * K * N) / seconds / 1e9;
};
