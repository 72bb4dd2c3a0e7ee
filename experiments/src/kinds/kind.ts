import type { ShardStore } from "@patchbay/circuits";
import type { ModelConfig } from "@patchbay/core/model";
import type { Effect, Schema } from "effect";
import type { ComparisonMetric } from "../report/comparison.ts";
import type { Html } from "../report/html.ts";
import type { SummaryColumn } from "../report/summary.ts";
import type { CellIdentity, KindName } from "../results/envelope.ts";
import type { ColumnDecl } from "../results/table-columns.ts";
import type { ExperimentFileError } from "../spec/schema.ts";
import type { CellError } from "../run/cell-errors.ts";

/**
 * A kind of experiment (circuit discovery, causal abstraction, readouts): everything the generic
 * road (file → cells → plan → run → table → summary → report) needs to know about it, in one
 * object. The generic code never asks which kind it holds: it looks the kind up in the list
 * (kinds/index.ts) by the file's, the spec's or the result's `kind` (absent: circuit) and calls it.
 *
 * S is the normalized cell spec (what the cell id hashes), R the result the store holds.
 */
export interface ExperimentKind<S, R> {
  /** the `kind` of files, specs and results (circuit: the default, left out of specs and results) */
  readonly name: KindName;

  // ---- the file -------------------------------------------------------------------------------
  /** the whole experiment file of this kind (the JSON Schema of experiment files is their union) */
  readonly experiment: Schema.Schema.AnyNoContext;
  /** one cell: the experiment's fields with every sweep axis fixed, and `seed` */
  readonly cellFields: Schema.Schema.AnyNoContext;
  /** checks that name the field better than the union's decoding would, before decoding */
  readonly checkDocument: (
    file: string,
    doc: Readonly<Record<string, unknown>>,
    prefix: string,
  ) => Effect.Effect<void, ExperimentFileError>;
  /** one cell's document (sweep values applied) decoded and normalized */
  readonly decodeCell: (
    file: string,
    doc: Readonly<Record<string, unknown>>,
    prefix: string,
  ) => Effect.Effect<S, ExperimentFileError>;
  /** the fields that size the cell's dataset, with their values (checked against the limits) */
  readonly examples: (spec: S) => readonly (readonly [string, number])[];
  /** the cell's model and data in a few words (`validate` prints them after the method) */
  readonly describe: (spec: S) => string;

  // ---- plan and run ---------------------------------------------------------------------------
  /** what the plan checks before the first cell runs, beyond what identity loads (sites, …) */
  readonly check: (spec: S, ctx: CheckContext) => Effect.Effect<void, CellError>;
  /** the cell id without running anything (loads weights and data; no ORT session) */
  readonly identity: (input: KindInput<S>) => Effect.Effect<CellIdentity, CellError>;
  /** run the cell: its result and the files it produced (artifacts), relative to the store */
  readonly run: (input: KindInput<S>) => Effect.Effect<CellRun<R>, CellError>;

  // ---- results --------------------------------------------------------------------------------
  /** null when `v` has this kind's shape of result, else what was expected */
  readonly resultProblem: (v: Readonly<Record<string, unknown>>) => string | null;
  /** the run table's columns of this kind (between the head and tail columns) */
  readonly columns: Readonly<Record<string, ColumnDecl>>;
  /** a result's values of those columns */
  readonly row: (r: R) => Readonly<Record<string, unknown>>;
  /** the table `run` prints: one row per cell, `keys` the swept fields */
  readonly summary: (cells: readonly SummaryCell<R>[], keys: readonly string[]) => string;
  /** its part of the run report and its own cell pages */
  readonly report: KindReport<R>;
}

/** What every experiment file has, whatever its kind (the rest is the kind's: `experiment` decodes it). */
export interface ExperimentOf {
  readonly name?: string | undefined;
  readonly seeds: readonly [number, ...number[]];
  readonly outputs: { readonly results: string };
  readonly sweep?:
    | {
        readonly grid?: Readonly<Record<string, readonly unknown[]>> | undefined;
        readonly zip?: Readonly<Record<string, readonly unknown[]>> | undefined;
      }
    | undefined;
}

/** A cell of a run as the kind's CLI summary sees it (a run's cells, run/experiment.ts, are these). */
export interface SummaryCell<R> {
  readonly cell: { readonly index: number; readonly varying: Readonly<Record<string, unknown>> };
  readonly cellId: string;
  readonly result: R;
  /** seconds the cell took in this run; null when it was not computed by it */
  readonly seconds: number | null;
  /** already in the store */
  readonly skipped: boolean;
}

/** A cell of the kind with the folder its relative paths are resolved against. */
export interface KindInput<S> {
  readonly spec: S;
  readonly baseDir: string;
  /** when the cell runs into a results store: keeps a sharded method's shards there */
  readonly keepShards?: ShardKeeper;
}

/**
 * Where a sharded method's shards (their ids, in order) are kept: read when there, else computed
 * and written as each finishes. Made by the process that runs the cell (not data).
 */
export type ShardKeeper = (ids: readonly string[], method: string) => ShardStore;

export interface CheckContext {
  readonly baseDir: string;
  /** " (cell i/n)" when the experiment has several cells, for error fields */
  readonly where: string;
  /** a model's config, loaded once per path */
  readonly configOf: (path: string) => Effect.Effect<ModelConfig, CellError>;
}

/** A file a cell produced, relative to the results store. */
export interface CellFile {
  readonly path: string;
  readonly content: string;
}

export interface CellRun<R> {
  readonly result: R;
  readonly seconds: number;
  readonly files: readonly CellFile[];
}

/** A kind's part of the report: its summary table and comparison chart, and each cell's section. */
export interface KindReport<R> {
  /** the heading of its part when a run holds several kinds */
  readonly heading: string;
  readonly chartTitle: string;
  /** the class of its summary table */
  readonly cls: string;
  readonly note: string;
  readonly chartNote: string;
  /** the CSS its sections need (parts shared between kinds are given once per page) */
  readonly css: readonly string[];
  readonly columns: (secondsOf: (r: R) => number | undefined) => readonly SummaryColumn<R>[];
  readonly metrics: (cells: readonly R[]) => readonly ComparisonMetric<R>[];
  /** one cell's section (`idPrefix` keeps ids unique when a page holds several cells) */
  readonly body: (
    r: R,
    o: { readonly headingLevel: "h2" | "h3"; readonly idPrefix: string; readonly seconds?: number },
  ) => Html | Promise<Html>;
}
