import type { InputError } from "@patchbay/core/errors";

/**
 * Every option of a readout either changes its result or is refused. The options a
 * method would otherwise ignore in some configuration are refused by one rule each, written beside
 * the spec it constrains (`…Problem` in attribution/, lens/, probing/, steering/, neurons/, sae/
 * spec.ts) and used both by the spec's Schema (an experiment file is refused at load time, the
 * field named) and by the method function (the API can be called without decoding). Rules that
 * need the model or the data (DLA neurons without MLPs, steering positions given by the data) are
 * the function's only. A field with a default counts as given when its value differs from the
 * default (a default, written or not, changes nothing); a field without one when it is present.
 * Knobs that only bound the work of an engine run (batchSize, chunkSize, circuitsPerRun) leave the
 * result as it is by design; they are refused only where no run reads them.
 */

/**
 * A problem rule's answer as a Schema filter's: `spec.pipe(Schema.filter((s) => asIssue(rule(s))))`;
 * the InputError's field becomes the issue's path, its expectation the message.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { InputError } from "@patchbay/core/errors";
 * import { asIssue } from "@patchbay/readouts";
 *
 * assert.equal(asIssue(null), true);
 * const issue = asIssue(new InputError({ field: "steps", expected: "a positive integer", found: "0" }));
 * assert.deepEqual(issue !== true && issue.path, ["steps"]);
 * ```
 */
export const asIssue = (p: InputError | null): true | { path: string[]; message: string } =>
  p === null || { path: p.field.split("."), message: p.expected };

/** Two option values the same (plain data: numbers, strings, arrays, tagged structs). */
export const sameOption = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
