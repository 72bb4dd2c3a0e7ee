import { type Dirent, existsSync, readdirSync, readFileSync } from "node:fs";
import { arch, cpus, platform, release, totalmem } from "node:os";
import { join } from "node:path";
import { onnxruntimeVersion, patchbayVersion } from "./hash.ts";
import { processAlive } from "./process.ts";
import { cellPath, storeError } from "./store.ts";

/** `<results>/runs/<runId>/manifest.json`. Timestamps and timings live here, never in cell files. */
export interface RunManifest {
  readonly runId: string;
  readonly status: "running" | "done" | "failed";
  readonly experiment: { readonly file: string; readonly name: string; readonly sha256: string };
  readonly versions: { readonly node: string; readonly onnxruntimeNode: string; readonly patchbay: string };
  readonly machine: {
    readonly os: string;
    readonly arch: string;
    readonly cpus: number;
    readonly cpuModel: string;
    readonly memoryBytes: number;
  };
  /** the experiment's replicate seeds, and each cell's seed */
  readonly seeds: readonly number[];
  readonly total: number;
  readonly cells: readonly {
    readonly index: number;
    readonly cellId: string;
    readonly seed: number;
    readonly varying: Readonly<Record<string, unknown>>;
  }[];
  readonly timings: {
    readonly startedAt: string;
    readonly updatedAt: string;
    readonly finishedAt: string | null;
    /** per cell id: seconds it took when computed, and when */
    readonly cells: Readonly<Record<string, { readonly seconds: number; readonly finishedAt: string }>>;
  };
  /** every `run` of this experiment: when, which process, cells computed and skipped */
  readonly invocations: readonly {
    readonly startedAt: string;
    readonly finishedAt: string | null;
    readonly pid: number;
    readonly computed: number;
    readonly skipped: number;
  }[];
  readonly error: string | null;
}

/**
 * The machine a run ran on, for its manifest: `{ os, arch, cpus, cpuModel, memoryBytes }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { machineInfo } from "@patchbay/experiments";
 *
 * assert.ok(machineInfo().cpus >= 1);
 * ```
 */
export const machineInfo = (): RunManifest["machine"] => ({
  os: `${platform()} ${release()}`,
  arch: arch(),
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model ?? "unknown",
  memoryBytes: totalmem(),
});

/**
 * The versions a run's manifest records: `{ node, onnxruntimeNode, patchbay }`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { versionInfo } from "@patchbay/experiments";
 *
 * assert.equal(versionInfo().node, process.version);
 * ```
 */
export const versionInfo = (): RunManifest["versions"] => ({
  node: process.version,
  onnxruntimeNode: onnxruntimeVersion(),
  patchbay: patchbayVersion(),
});

export const readManifest = (path: string): RunManifest | null => {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as RunManifest;
  } catch {
    return null;
  }
};

/** A run in a results store, with its progress. */
export interface RunListing {
  readonly runId: string;
  readonly name: string;
  readonly file: string;
  /** "interrupted": the manifest says running but its process is gone (killed; `run` resumes it) */
  readonly status: RunManifest["status"] | "interrupted" | "unreadable";
  readonly done: number;
  readonly total: number;
  readonly updatedAt: string | null;
}

/**
 * Every run under `<results>/runs/`, with cells done (present in the store) / total (a ResultsStoreError when it cannot be listed).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { Effect } from "effect";
 * import { decodeExperiment, listRuns, runExperiment } from "@patchbay/experiments";
 * const dir = mkdtempSync(join(tmpdir(), "exp-"));
 * // a readout experiment built in code: direct logit attribution on the compiled induction model
 * const raw = { name: "doc", kind: "readout", model: "builtin:induction", data: { task: { n: 4 } }, method: { _tag: "dla" } };
 * const loaded = await Effect.runPromise(decodeExperiment(raw, join(dir, "doc.yaml")));
 * const summary = await Effect.runPromise(runExperiment(loaded, { results: join(dir, "results") }));
 * const { result } = summary.cells[0]!;
 * const [run] = listRuns(join(dir, "results"));
 * assert.deepEqual([run!.name, run!.status, run!.done, run!.total], ["doc", "done", 1, 1]);
 * ```
 */
export const listRuns = (results: string): readonly RunListing[] => {
  const runs = join(results, "runs");
  if (!existsSync(runs)) return [];
  let entries: Dirent[];
  try {
    entries = readdirSync(runs, { withFileTypes: true });
  } catch (e) {
    throw storeError(runs, "listing", e);
  }
  return entries
    .filter((d) => d.isDirectory() && !d.name.startsWith("."))
    .map((d): RunListing => {
      const m = readManifest(join(runs, d.name, "manifest.json"));
      if (m === null)
        return {
          runId: d.name,
          name: "?",
          file: "?",
          status: "unreadable",
          done: 0,
          total: 0,
          updatedAt: null,
        } as const;
      const doneCount = m.cells.filter((c) => existsSync(cellPath(results, c.cellId))).length;
      const last = m.invocations.at(-1);
      const interrupted =
        m.status === "running" && last !== undefined && last.finishedAt === null && !processAlive(last.pid);
      return {
        runId: m.runId,
        name: m.experiment.name,
        file: m.experiment.file,
        status: interrupted ? ("interrupted" as const) : m.status,
        done: doneCount,
        total: m.total,
        updatedAt: m.timings.updatedAt,
      };
    })
    .sort((a, b) => ((a.updatedAt ?? "") < (b.updatedAt ?? "") ? 1 : -1));
};
