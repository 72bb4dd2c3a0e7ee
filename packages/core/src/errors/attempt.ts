import { Effect } from "effect";

// biome-ignore lint/suspicious/noExplicitAny: a constructor of any error class
type ErrorClass = abstract new (...args: any[]) => Error;

/**
 * `Effect.try` for plain code that throws patchbay's typed errors: a thrown instance of one of
 * `classes` becomes the typed failure; anything else (a TypeError, a bug) is a defect, never
 * relabelled as the user's bad input.
 *
 *   attempt(() => makeBatch(...), InputError)   // Effect<Batch, InputError>
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
