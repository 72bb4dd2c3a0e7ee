/**
 * Each method of the circuits bench runs in its own child process (the same script, with
 * `--entry NAME --model NAME`), so its peak RSS is its own and the sessions of one method never
 * sit beside another's. A child prints its rows and its peak RSS as one JSON line prefixed with
 * RESULT on stdout; everything else it prints is passed through. Ratios stay side by side: an
 * entry times its unit (the plain forward) in its own process, interleaved with what it measures.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { type HugepagesState, hugepagesState } from "@patchbay/core/runtime";
import { peakRssMb } from "../../core/bench/timing.ts";

export interface Row {
  readonly name: string;
  readonly value: string;
  readonly note: string;
}

export type Record = (name: string, value: string, note?: string) => void;

const RESULT = "BENCH_RESULT ";

/** In a child: a recorder that also prints, and the line that hands the rows back. */
export const childRecorder = (): { record: Record; finish: () => void } => {
  const rows: Row[] = [];
  return {
    record: (name, value, note = "") => {
      rows.push({ name, value, note });
      console.log(`${name}: ${value} ${note}`);
    },
    finish: () =>
      console.log(
        `${RESULT}${JSON.stringify({ rows, peakRssMb: peakRssMb(), hugepages: hugepagesState() })}`,
      ),
  };
};

export interface ChildResult {
  readonly rows: readonly Row[];
  /** the child's peak RSS (process.resourceUsage().maxRSS), MB */
  readonly peakRssMb: number;
  /** the child's memory pages at its end (its huge pages change every figure: runtime/hugepages.ts) */
  readonly hugepages: HugepagesState;
}

/** A child's huge pages, as a bench row's value. */
export const hugepagesNote = (h: HugepagesState): string =>
  `${h.tunable ? "asked (GLIBC_TUNABLES)" : "not asked"}; kernel mode ${h.mode ?? "none"}; ${h.anonHugeMb ?? 0} MB in huge pages at the end`;

/** The command-line arguments a child gets, or null in the parent. */
export const childArgs = (argv: readonly string[]): { entry: string; model: string } | null => {
  const at = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const entry = at("--entry");
  const model = at("--model");
  return entry !== undefined && model !== undefined ? { entry, model } : null;
};

/**
 * In the parent: run `script` (this bench's run.ts) as a child for one entry on one model, under
 * the same node flags (tsx's loader), and return its rows and peak RSS; a child that fails (an
 * exception, an OOM kill) is an Error naming the entry and how it ended.
 */
export const runChild = (script: URL, entry: string, model: string): Promise<ChildResult> =>
  new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [...process.execArgv, fileURLToPath(script), "--entry", entry, "--model", model],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    let result: ChildResult | null = null;
    let pending = "";
    const line = (l: string) => {
      if (l.startsWith(RESULT)) result = JSON.parse(l.slice(RESULT.length)) as ChildResult;
      else if (l.length > 0) console.log(`  [${model} ${entry}] ${l}`);
    };
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      const lines = (pending + chunk).split("\n");
      pending = lines.pop()!;
      lines.forEach(line);
    });
    child.on("error", reject);
    child.on("close", (code, signal) => {
      line(pending);
      if (code === 0 && result !== null) resolve(result);
      else
        reject(
          new Error(
            `bench entry ${entry} on ${model} ended with ${signal !== null ? `signal ${signal}` : `exit code ${code}`}${result === null ? " and no result" : ""}`,
          ),
        );
    });
  });
