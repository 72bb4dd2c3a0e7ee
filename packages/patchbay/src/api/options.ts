import { InputError } from "@patchbay/core/errors";

/**
 * An option a function does not read is refused, never ignored: an InputError naming the first
 * such key and listing those it reads. `options` may be undefined (nothing given).
 */
export const rejectUnknown = (
  options: object | undefined,
  allowed: readonly string[],
  where: string,
): void => {
  if (options === undefined) return;
  const extra = Object.keys(options).find((k) => !allowed.includes(k));
  if (extra !== undefined)
    throw new InputError({
      field: `${where}.${extra}`,
      expected: allowed.length === 0 ? "no options" : `only ${allowed.join(", ")}`,
      found: "an option it does not read",
    });
};
