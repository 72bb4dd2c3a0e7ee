import { CausalError } from "@patchbay/causal";
import { isOneOf, PATCHBAY_ERRORS } from "@patchbay/core/errors";
import {
  ApiAccessError,
  ApiHttpError,
  ApiTimeoutError,
  ModelResponseError,
  SaeFileError,
} from "@patchbay/readouts";

/**
 * Every typed error a cell may fail with, in one list: core's, the causal package's and the
 * readouts package's own, each keeping its tag (a CausalError reaches the run, the manifest and
 * the CLI as a CausalError). The union and its guard are read from the list; a cell's
 * synchronous steps use core's `attempt(() => …, ...CELL_ERRORS)`, so anything else thrown is a
 * defect, never relabelled as the user's bad input.
 */
export const CELL_ERRORS = [
  ...PATCHBAY_ERRORS,
  CausalError,
  SaeFileError,
  ApiTimeoutError,
  ApiHttpError,
  ModelResponseError,
  ApiAccessError,
] as const;

export type CellError = InstanceType<(typeof CELL_ERRORS)[number]>;

/**
 * Whether a value is one of the typed errors a cell can fail with (CELL_ERRORS), as opposed to a defect.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { InputError } from "@patchbay/core/errors";
 * import { isCellError } from "@patchbay/experiments";
 *
 * assert.equal(isCellError(new InputError({ field: "f", expected: "e", found: "x" })), true);
 * assert.equal(isCellError(new Error("a bug")), false);
 * ```
 */
export const isCellError = isOneOf(CELL_ERRORS);
