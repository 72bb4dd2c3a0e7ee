import { Effect } from "effect";

// biome-ignore lint/suspicious/noExplicitAny: a constructor of any error class
type ErrorClass = abstract new (...args: any[]) => Error;

/**
 * `Effect.try` for plain code that throws patchbay's typed errors: a thrown instance of one of
 * `classes` becomes the typed failure; anything else (a TypeError, a bug) is a defect, never
 * relabelled as the user's bad input.
 *
 *   attempt(() => makeBatch(...), InputError)   // Effect<Batch, InputError>
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { attempt, InputError } from "@patchbay/core/errors";
 * import { Effect, Exit } from "effect";
 *
 * const parse = (text: string): number => {
 *   const n = Number(text);
 *   if (!Number.isInteger(n)) throw new InputError({ field: "--layer", expected: "an integer", found: text });
 *   return n;
 * };
 * const bad = await Effect.runPromise(Effect.flip(attempt(() => parse("x"), InputError)));
 * assert.equal(bad.field, "--layer"); // the typed failure
 * const bug = await Effect.runPromiseExit(attempt(() => JSON.parse("{"), InputError)); // a SyntaxError
 * assert.ok(Exit.isFailure(bug) && bug.cause._tag === "Die"); // anything else stays a defect
 * ```
 */
export const attempt = <A, const C extends readonly ErrorClass[]>(
  f: () => A,
  ...classes: C
): Effect.Effect<A, InstanceType<C[number]>> =>
  Effect.suspend(() => {
    try {
      return Effect.succeed(f());
    } catch (e) {
      return classes.some((c) => e instanceof c) ? Effect.fail(e as InstanceType<C[number]>) : Effect.die(e);
    }
  });
