import { circuitSpec, METHOD_TAGS } from "@patchbay/circuits/cli/table";
import {
  type CliOptions,
  type CommandSpec,
  compileCacheFlag,
  coreCommands,
  coreNotes,
  EDGE_ABLATIONS,
  METRIC_KINDS,
  oneOf,
} from "@patchbay/core/cli/table";
import { LIMIT_FLAGS } from "../spec/limits.ts";

/**
 * `@patchbay/experiments/cli/commands`: the whole CLI as a command table — core's commands,
 * `circuit`, the demo, the experiment commands and the queue worker — as data: names, flags,
 * usage, choices. Nothing here imports an implementation, Effect, ORT, the queue client or the
 * report renderer (a dependency-cruiser rule and cli/startup.test.ts hold that), so `--help` is
 * instant; each command's implementation is imported when it runs (`load`).
 */

/** --max-cells, --max-seeds, --max-examples, --max-file-bytes: the limits a run may raise (spec/limits.ts). */
const limitFlags = Object.fromEntries(
  Object.values(LIMIT_FLAGS).map((flag) => [flag.slice(2), "string" as const]),
) as Record<string, "string">;
const limitsUsage = Object.values(LIMIT_FLAGS)
  .map((flag) => `[${flag} N]`)
  .join(" ");

/** `--http-allow-hosts a,b:8080` and `--http-api-key-env NAME` (run, worker): see http-access.ts. */
const httpAccessFlags = { "http-allow-hosts": "string", "http-api-key-env": "string" } as const;
const httpAccessUsage = "[--http-allow-hosts H1,H2 --http-api-key-env VAR]";

/**
 * The methods an experiment file's `method: {_tag}` takes, per kind (`kind:`, default circuit).
 * Tested against each kind's Schema (commands.test.ts).
 */
export const EXPERIMENT_METHODS = {
  circuit: METHOD_TAGS,
  causal: ["iia", "iia-sweep", "das"],
  readout: [
    "logit-lens",
    "tuned-lens",
    "input-attribution",
    "dla",
    "attention",
    "probe",
    "steering",
    "erasure",
    "neurons",
    "sae",
    "sae-circuit",
    "patchscope",
    "patchscope-sweep",
    "attention-entropy",
  ],
} as const satisfies Record<string, readonly string[]>;

/** What an experiment file may choose, printed under `validate --help` and `run --help`. */
const fileChoices = [
  "in the file: kind circuit (default), causal or readout; method._tag per kind:",
  ...Object.entries(EXPERIMENT_METHODS).map(([kind, tags]) => `  ${kind.padEnd(8)} ${oneOf(tags)}`),
  `  metric (circuit: metric): ${oneOf(METRIC_KINDS)}`,
  `  ablation (circuit: ablation): ${oneOf(EDGE_ABLATIONS)}`,
].join("\n");

const validateSpec = {
  flags: {
    file: "string",
    results: "string",
    json: "boolean",
    "schema-only": "boolean",
    ids: "boolean",
    ...limitFlags,
  },
  positional: "file",
  usage: `validate FILE [--results DIR] [--schema-only] ${limitsUsage} [--json]   (checks what run checks before its first cell — the file, the results folder, models, data, sites, positions — and prints each cell with the id run will use; --schema-only: the file alone, no models or data)`,
  help: fileChoices,
  load: () => import("./experiments.ts").then((m) => m.validateCommand),
} as const satisfies CommandSpec;

const runSpec = {
  flags: {
    file: "string",
    results: "string",
    quiet: "boolean",
    json: "boolean",
    workers: "string",
    redis: "string",
    queue: "string",
    timeout: "string",
    "worker-grace": "string",
    "acdc-cells": "string",
    ...compileCacheFlag,
    ...httpAccessFlags,
    ...limitFlags,
  },
  positional: "file",
  usage: `run FILE [--results DIR] [--workers N | --redis URL [--queue NAME] [--timeout S] [--worker-grace S]] [--acdc-cells N] [--compile-cache DIR] ${httpAccessUsage} ${limitsUsage} [--json]   (one run or a sweep; resumes: finished cells are skipped; one run of an experiment into a store at a time (a lock); --workers: N worker threads; --redis: cells computed by \`patchbay worker\`s (the run fails once no worker has served the queue for --worker-grace seconds, default 60; --timeout: for an ACDC with split, per batch part); --acdc-cells: ACDC cells with split on one setup coordinated at once (default 1); --http-*: hosts an HTTP neuron explainer may call and the variable holding its key; --max-*: raise the size limits; --json: the summary on stdout, no progress)`,
  help: fileChoices,
  load: () => import("./experiments.ts").then((m) => m.runCommand),
} as const satisfies CommandSpec;

const lsSpec = {
  flags: { dir: "string", json: "boolean" },
  positional: "dir",
  usage: "ls [DIR] [--json]   (runs in a results store, with cells done/total; default DIR: results)",
  load: () => import("./experiments.ts").then((m) => m.lsCommand),
} as const satisfies CommandSpec;

const reportSpec = {
  flags: { run: "string", results: "string", interactive: "boolean" },
  positional: "run",
  usage:
    "report RUN_DIR_OR_ID [--results DIR] [--interactive]   (or --run RUN_DIR_OR_ID; --interactive: also a folder that opens from disk and patches circuits live in the page, onnxruntime-web)",
  load: () => import("../report/write.ts").then((m) => m.reportCommand),
} as const satisfies CommandSpec;

const serveSpec = {
  flags: { results: "string", port: "string", threads: "string", open: "boolean", ...compileCacheFlag },
  positional: "results",
  usage:
    "serve [RESULTS_DIR] [--port N] [--threads N] [--open] [--compile-cache DIR]   (the live circuit explorer on 127.0.0.1: toggle edges of a circuit cell and see the metric at once; default RESULTS_DIR: results; --threads: ORT threads for its runs, default the machine's cores)",
  load: () => import("../serve/cli.ts").then((m) => m.serveCommand),
} as const satisfies CommandSpec;

const workerSpec = {
  flags: {
    redis: "string",
    concurrency: "string",
    queue: "string",
    "lock-ms": "string",
    "stalled-ms": "string",
    grace: "string",
    ...compileCacheFlag,
    ...httpAccessFlags,
  },
  usage: `worker --redis URL [--concurrency N] [--queue NAME] [--lock-ms MS] [--stalled-ms MS] [--compile-cache DIR] ${httpAccessUsage}   (computes queued cells; results go to the folder named in each job)`,
  load: () => import("../distributed/cli.ts").then((m) => m.workerCommand),
} as const satisfies CommandSpec;

/** The experiment commands (validate, run, ls, report, serve). */
export const experimentCommands = {
  validate: validateSpec,
  run: runSpec,
  ls: lsSpec,
  report: reportSpec,
  serve: serveSpec,
} as const;

/** `patchbay <command>`: the core commands, circuit discovery, the main job, experiments, the worker. */
export const patchbayCommands = {
  ...coreCommands,
  circuit: circuitSpec,
  demo: {
    flags: { seed: "string", n: "string" },
    usage: "demo [--seed S] [--n N]",
    load: () => import("./demo.ts").then((m) => m.demoCommand),
  },
  ...experimentCommands,
  worker: workerSpec,
} as const satisfies Record<string, CommandSpec>;

/**
 * How the full CLI runs: the notes under its usage; before a command, the zoo registers its
 * `builtin:` model paths; the experiments' typed errors print like patchbay's.
 */
export const patchbayCli: CliOptions = {
  notes: coreNotes,
  prepare: () => import("@patchbay/zoo"),
  typedErrors: () => import("./errors.ts").then((m) => m.isExperimentsError),
};
