import { availableParallelism } from "node:os";
import { InputError } from "../errors/index.ts";

/**
 * The most ORT intra-op threads a run may ask for: 4 × the machine's cores. More threads than
 * cores only adds contention, and ORT allocates a pool per session, so a file or flag asking for
 * 100,000 would exhaust the process instead of running; this cap makes it a typed error at once.
 */
export const THREADS_PER_CORE = 4;

/**
 * The most ORT intra-op threads a run may ask for: THREADS_PER_CORE × the machine's cores.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { availableParallelism } from "node:os";
 * import { maxThreads, THREADS_PER_CORE } from "@patchbay/core/runtime";
 *
 * assert.equal(maxThreads(), THREADS_PER_CORE * availableParallelism());
 * ```
 */
export const maxThreads = (): number => THREADS_PER_CORE * Math.max(1, availableParallelism());

/**
 * `threads` checked against [1, maxThreads()]; `field` names where it came from (a flag or a file field).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkThreads } from "@patchbay/core/runtime";
 *
 * assert.equal(checkThreads(1, "--threads"), null);
 * assert.equal(checkThreads(0, "--threads")?._tag, "InputError");
 * ```
 */
export const checkThreads = (threads: number, field: string): InputError | null =>
  Number.isInteger(threads) && threads >= 1 && threads <= maxThreads()
    ? null
    : new InputError({
        field,
        expected: `an integer from 1 to ${maxThreads()} (${THREADS_PER_CORE} × ${availableParallelism()} cores)`,
        found: String(threads),
      });
