/**
 * ORT's execution providers a model may run on: cpu (the default) and cuda (needs onnxruntime-node's
 * CUDA files installed). A plain list, importable without ORT: the CLI's `--ep` reads it.
 */
export const EXECUTION_PROVIDERS = ["cpu", "cuda"] as const;
export type ExecutionProvider = (typeof EXECUTION_PROVIDERS)[number];
