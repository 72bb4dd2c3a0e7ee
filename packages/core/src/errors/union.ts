// biome-ignore lint/suspicious/noExplicitAny: a constructor of any tagged error class
export type TaggedErrorClass = new (args: any) => Error & { readonly _tag: string };

/**
 * The guard of an error union written once, as the list of its classes: recognises an instance
 * of any of them by its `_tag` (so an error rebuilt across a worker or a second copy of a module
 * still counts). Declare the union from the same list:
 *
 *   const LOAD_ERRORS = [WeightFileError, ConfigError] as const;
 *   type LoadError = InstanceType<(typeof LOAD_ERRORS)[number]>;
 *   const isLoadError = isOneOf(LOAD_ERRORS);
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ConfigError, InputError, isOneOf } from "@patchbay/core/errors";
 *
 * const isUserError = isOneOf([InputError, ConfigError] as const);
 * assert.ok(isUserError(new InputError({ field: "f", expected: "e", found: "x" })));
 * assert.ok(isUserError({ _tag: "InputError" })); // by tag: an error rebuilt from a worker counts
 * assert.equal(isUserError(new Error("no")), false);
 * ```
 */
export const isOneOf = <const C extends readonly TaggedErrorClass[]>(
  classes: C,
): ((e: unknown) => e is InstanceType<C[number]>) => {
  // a TaggedError sets `_tag` on construction; the fields are not needed to read it
  const tags = new Set(classes.map((c) => new c({})._tag));
  return (e: unknown): e is InstanceType<C[number]> =>
    typeof e === "object" && e !== null && "_tag" in e && tags.has((e as { _tag: unknown })._tag as string);
};
