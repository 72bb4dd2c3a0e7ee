import { createHash } from "node:crypto";
import { InputError } from "@patchbay/core/errors";
import type { SetupSpec } from "../kinds/circuit/batches.ts";

export { type AcdcRowsMaker, setupIdOf } from "../kinds/circuit/batches.ts";

/**
 * A distributed ACDC's batch as data: the edge setup it is measured on (model, task, ablation,
 * metric, granularity, threads: the setup's id hashes these with the weights, the data and the
 * patchbay version, as a cell id does), the receiver's layer, and the masks (each S·D entry 0 or
 * 1, packed as bits in base64). The job id hashes all three, so the same part of the same batch is
 * one job however often it is asked for. A worker evaluates it with the function ACDC runs
 * locally (circuits' downstreamRows) and returns the per-example metrics through the queue.
 */
export interface BatchInput {
  readonly spec: SetupSpec;
  readonly baseDir: string;
  /** the setup's id (setupIdOf): checked by the worker against the weights and data it loads */
  readonly setupId: string;
  readonly layer: number;
  /** S·D entries per mask */
  readonly entries: number;
  readonly masks: readonly string[];
}

/** An ACDC batch on a queue or a thread: `batch: true` tells it from a cell or shard job. */
export interface BatchJob {
  readonly batch: true;
  /** which part of the receiver's batch (for logs) */
  readonly index: number;
  /** the job's id (batchIdOf) */
  readonly cellId: string;
  readonly input: BatchInput;
}

/** What a batch job returns: each mask's metric per example [M·N] (float32 values), and the runs. */
export interface BatchMetrics {
  readonly perExample: readonly number[];
  readonly runs: number;
}

/** A 0/1 mask as base64 bits (little-endian within a byte); any other entry is an InputError naming it. */
export const packMask = (mask: Float32Array, i: number): string => {
  const bytes = new Uint8Array(Math.ceil(mask.length / 8));
  for (let j = 0; j < mask.length; j++) {
    const x = mask[j]!;
    if (x !== 0 && x !== 1)
      throw new InputError({
        field: `masks[${i}][${j}]`,
        expected: "0 or 1 (a distributed ACDC sends edge sets, not fractional masks)",
        found: String(x),
      });
    if (x === 1) bytes[j >> 3]! |= 1 << (j & 7);
  }
  return Buffer.from(bytes).toString("base64");
};

/** The mask packMask packed, of `entries` entries; a string of another length is an InputError. */
export const unpackMask = (packed: string, entries: number, i: number): Float32Array => {
  const bytes = Buffer.from(packed, "base64");
  if (bytes.length !== Math.ceil(entries / 8))
    throw new InputError({
      field: `masks[${i}]`,
      expected: `${entries} entries as ${Math.ceil(entries / 8)} bytes of base64 bits`,
      found: `${bytes.length} bytes`,
    });
  const mask = new Float32Array(entries);
  for (let j = 0; j < entries; j++) mask[j] = (bytes[j >> 3]! >> (j & 7)) & 1;
  return mask;
};

/** The job id of a batch part: its setup, layer and masks hashed. */
export const batchIdOf = (input: Pick<BatchInput, "setupId" | "layer" | "entries" | "masks">): string => {
  const h = createHash("sha256");
  h.update(`acdc-batch\0${input.setupId}\0${input.layer}\0${input.entries}\0`);
  for (const m of input.masks) h.update(`${m}\0`);
  return h.digest("hex");
};
