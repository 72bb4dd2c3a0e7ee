import { readFileSync } from "node:fs";

/*
 * Transparent huge pages for the runtime's memory. A run of a large graph allocates gigabytes of
 * fresh buffers (ORT's outputs and intermediates, the host's Float32Arrays), and the kernel backs
 * each 4 KiB page on first touch. On a virtual machine that touch is costly: on the 2-core
 * Firecracker machines here ~10 µs a page, so a GPT-2-small EAP run at 8 × 128 (≈ 240k pages a
 * run) spent half its time in page faults (BENCHMARKS.md, "Huge pages"). With 2 MiB pages it is one
 * fault per 512 pages.
 *
 * Linux gives huge pages to memory that asks for them (`madvise` mode, the usual default) or to all
 * (`always`). glibc (≥ 2.35) asks for them on every large allocation when the process starts with
 * GLIBC_TUNABLES=glibc.malloc.hugetlb=1. It must be in the environment when the process starts
 * (ld.so reads it), so patchbay cannot turn it on for itself: the project's scripts set it, and
 * `withHugepages` gives the environment for a child process. Elsewhere (macOS, musl, older glibc)
 * the variable is ignored. Results do not depend on it: only where pages come from.
 */

/** The glibc tunable that makes malloc ask the kernel for transparent huge pages. */
export const HUGEPAGES_TUNABLE = "glibc.malloc.hugetlb=1";

/** The GLIBC_TUNABLES list of `env` (colon-separated `name=value` entries). */
const tunablesOf = (env: NodeJS.ProcessEnv): string[] =>
  (env.GLIBC_TUNABLES ?? "").split(":").filter((t) => t.length > 0);

/**
 * `env` with HUGEPAGES_TUNABLE added to GLIBC_TUNABLES (a colon-separated list; the others are
 * kept). A hugetlb setting already there is the user's and is kept as it is.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Runtime } from "@patchbay/core";
 *
 * assert.equal(Runtime.withHugepages({}).GLIBC_TUNABLES, "glibc.malloc.hugetlb=1");
 * assert.equal(
 *   Runtime.withHugepages({ GLIBC_TUNABLES: "glibc.malloc.arena_max=2" }).GLIBC_TUNABLES,
 *   "glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1",
 * );
 * // spawn(process.execPath, ["run.js"], { env: Runtime.withHugepages(process.env) })
 * ```
 */
export const withHugepages = (env: NodeJS.ProcessEnv): NodeJS.ProcessEnv => {
  const tunables = tunablesOf(env);
  if (tunables.some((t) => t.startsWith("glibc.malloc.hugetlb="))) return env;
  return { ...env, GLIBC_TUNABLES: [...tunables, HUGEPAGES_TUNABLE].join(":") };
};

/** What the process's memory is backed by, for a benchmark's record. */
export interface HugepagesState {
  /** the kernel's transparent huge page mode ("always", "madvise", "never"), null off Linux */
  readonly mode: string | null;
  /** GLIBC_TUNABLES asks malloc for huge pages (HUGEPAGES_TUNABLE) */
  readonly tunable: boolean;
  /** MiB of this process's anonymous memory in huge pages now, null off Linux */
  readonly anonHugeMb: number | null;
}

const readOrNull = (path: string): string | null => {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
};

/**
 * The kernel's huge page mode, whether this process asked for them, and how much of its memory
 * has them now.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Runtime } from "@patchbay/core";
 *
 * const s = Runtime.hugepagesState();
 * assert.equal(typeof s.tunable, "boolean");
 * if (process.platform === "linux") assert.ok(s.anonHugeMb === null || s.anonHugeMb >= 0);
 * ```
 */
export const hugepagesState = (): HugepagesState => {
  const mode = readOrNull("/sys/kernel/mm/transparent_hugepage/enabled");
  const rollup = readOrNull("/proc/self/smaps_rollup");
  const kb = rollup === null ? null : /^AnonHugePages:\s+(\d+) kB/m.exec(rollup)?.[1];
  return {
    mode: mode === null ? null : (/\[(\w+)\]/.exec(mode)?.[1] ?? null),
    tunable: tunablesOf(process.env).includes(HUGEPAGES_TUNABLE),
    anonHugeMb: kb === null || kb === undefined ? null : Number(kb) / 1024,
  };
};
