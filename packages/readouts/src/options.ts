import type { InputError } from "@patchbay/core";

/**
 * Every option of a readout either changes its result or is refused (issue 13): the options a
 * method would otherwise ignore in some configuration are listed beside each spec (attribution/,
 * lens/, probing/, steering/, neurons/, sae/ `options.ts`), one rule each, used by the spec's
 * Schema (so an experiment file is refused at load time, naming the field) and by the method
 * function itself (the API can be called without decoding). A field with a default counts as
 * given when its value differs from the default (a default, written or not, changes nothing);
 * a field without one when it is present. Options that only bound work per engine run
 * (batchSize, chunkSize, circuitsPerRun) change no result by design and are not refused.
 */

/**
 * A problem rule's answer as a Schema filter's: `spec.pipe(Schema.filter((s) => asIssue(rule(s))))`;
 * the InputError's field becomes the issue's path, its expectation the message.
 */
export const asIssue = (p: InputError | null): true | { path: string[]; message: string } =>
  p === null || { path: p.field.split("."), message: p.expected };

/** Two option values the same (plain data: numbers, strings, arrays, tagged structs). */
export const sameOption = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
