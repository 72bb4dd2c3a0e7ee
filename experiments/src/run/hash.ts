import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Weights } from "@patchbay/core/model";
import type { Task } from "@patchbay/zoo";

/** JSON with object keys sorted at every level (arrays keep their order): the hashing form. */
export const canonicalJson = (v: unknown): string =>
  JSON.stringify(v, (_k, x: unknown) =>
    typeof x === "object" && x !== null && !Array.isArray(x)
      ? Object.fromEntries(
          Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : x,
  );

export const sha256 = (data: string | Uint8Array): string => createHash("sha256").update(data).digest("hex");

/** sha256 over the weight tensors in name order: each name, shape and float32 bytes. */
export const weightsHash = (weights: Weights): string => {
  const h = createHash("sha256");
  for (const name of [...weights.keys()].sort()) {
    const t = weights.get(name)!;
    h.update(`${name}\0${t.shape.join(",")}\0`);
    h.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  return h.digest("hex");
};

/** sha256 of the task's ids (clean, corrupted, positions, answers, wrong) as canonical JSON. */
export const datasetHash = (task: Task): string =>
  sha256(
    canonicalJson({
      clean: task.clean,
      corrupted: task.corrupted,
      positions: task.positions,
      answers: task.answers,
      wrong: task.wrong,
    }),
  );

/** @patchbay/core's package.json, as this package resolves it (in the repo or installed). */
const corePackage = createRequire(import.meta.url).resolve("@patchbay/core/package.json");

/** patchbay's version: @patchbay/core's package.json. */
export const patchbayVersion = (): string =>
  (JSON.parse(readFileSync(corePackage, "utf8")) as { version: string }).version;

/** onnxruntime-node's version, as core resolves it. */
export const onnxruntimeVersion = (): string => {
  try {
    const req = createRequire(corePackage);
    return (
      JSON.parse(readFileSync(req.resolve("onnxruntime-node/package.json"), "utf8")) as { version: string }
    ).version;
  } catch {
    return "unknown";
  }
};

/** The cell id: sha256 of (canonical cell spec, weights hash, dataset hash, patchbay version). */
export const cellIdOf = (spec: unknown, weights: string, dataset: string, version: string): string =>
  sha256(canonicalJson({ spec, weightsHash: weights, datasetHash: dataset, patchbayVersion: version }));
