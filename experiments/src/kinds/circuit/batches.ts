import type { MaskRows } from "@patchbay/circuits";
import type { Effect, Scope } from "effect";
import type { CellError } from "../../run/cell-errors.ts";
import { cellIdOf } from "../../run/hash.ts";
import type { CircuitCellSpec } from "./spec.ts";

/** What opening a circuit cell's model, task and edge setup reads from its spec. */
export type SetupSpec = Pick<
  CircuitCellSpec,
  "model" | "task" | "ablation" | "metric" | "granularity" | "runtime"
>;

/** The setup's part of a circuit cell's spec (what opening its model, task and edges reads). */
export const setupSpecOf = (s: SetupSpec): SetupSpec => ({
  model: s.model,
  task: s.task,
  ablation: s.ablation,
  metric: s.metric,
  granularity: s.granularity,
  runtime: s.runtime,
});

/**
 * Where an ACDC cell with `split` sends its batches' parts: a queue's workers (`--redis`) or
 * worker threads (`--workers`). Made by the executor that runs the cell (not data); given the
 * setup's part of a batch job and the examples per mask, it opens what it needs in the Scope.
 */
export type AcdcRowsMaker = (base: {
  readonly spec: SetupSpec;
  readonly baseDir: string;
  /** setupIdOf the spec, weights, data and version */
  readonly setupId: string;
  /** S·D entries per mask */
  readonly entries: number;
  /** examples per mask */
  readonly N: number;
}) => Effect.Effect<MaskRows<CellError>, CellError, Scope.Scope>;

/** The id of an edge setup a distributed ACDC's batches are measured on (its spec, weights, data, version). */
export const setupIdOf = (spec: SetupSpec, weights: string, dataset: string, version: string) =>
  cellIdOf({ kind: "acdc-setup", ...setupSpecOf(spec) }, weights, dataset, version);
