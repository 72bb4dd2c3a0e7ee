import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type { Task } from "@patchbay/zoo";

/**
 * JSON with object keys sorted at every level (arrays keep their order): the hashing form.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { canonicalJson } from "@patchbay/experiments";
 *
 * assert.equal(canonicalJson({ b: 1, a: [2, { d: 1, c: 2 }] }), '{"a":[2,{"c":2,"d":1}],"b":1}');
 * ```
 */
export const canonicalJson = (v: unknown): string =>
  JSON.stringify(v, (_k, x: unknown) =>
    typeof x === "object" && x !== null && !Array.isArray(x)
      ? Object.fromEntries(
          Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : x,
  );

/**
 * The sha256 of a string (UTF-8) or bytes, as 64 hex digits.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sha256 } from "@patchbay/experiments";
 *
 * assert.equal(sha256("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
 * ```
 */
export const sha256 = (data: string | Uint8Array): string => createHash("sha256").update(data).digest("hex");

/** sha256 over the weight tensors (core's `Weights.weightsHash`, re-exported for the results' callers). */
export { weightsHash } from "@patchbay/core/weights";

/**
 * sha256 of the task's ids (clean, corrupted, positions, answers, wrong) as canonical JSON.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { inductionTask } from "@patchbay/zoo";
 * import { datasetHash } from "@patchbay/experiments";
 *
 * assert.equal(datasetHash(inductionTask(0, 4)), datasetHash(inductionTask(0, 4)));
 * assert.notEqual(datasetHash(inductionTask(1, 4)), datasetHash(inductionTask(0, 4)));
 * ```
 */
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

/**
 * patchbay's version: @patchbay/core's package.json.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { patchbayVersion } from "@patchbay/experiments";
 *
 * assert.match(patchbayVersion(), /^\d+\.\d+\.\d+/);
 * ```
 */
export const patchbayVersion = (): string =>
  (JSON.parse(readFileSync(corePackage, "utf8")) as { version: string }).version;

/**
 * onnxruntime-node's version, as core resolves it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { onnxruntimeVersion } from "@patchbay/experiments";
 *
 * assert.match(onnxruntimeVersion(), /^\d+\.\d+\.\d+/);
 * ```
 */
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

/**
 * The cell id: sha256 of (canonical cell spec, weights hash, dataset hash, patchbay version).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cellIdOf } from "@patchbay/experiments";
 *
 * const id = cellIdOf({ method: { _tag: "eap" } }, "w", "d", "0.1.0");
 * assert.match(id, /^[0-9a-f]{64}$/);
 * assert.equal(cellIdOf({ method: { _tag: "eap" } }, "w", "d", "0.1.0"), id); // key order does not matter either
 * ```
 */
export const cellIdOf = (spec: unknown, weights: string, dataset: string, version: string): string =>
  sha256(canonicalJson({ spec, weightsHash: weights, datasetHash: dataset, patchbayVersion: version }));
