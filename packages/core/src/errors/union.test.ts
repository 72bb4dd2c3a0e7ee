import { Data } from "effect";
import { describe, expect, it } from "vitest";
import * as errors from "./errors.ts";
import { isPatchbayError, PATCHBAY_ERRORS } from "./errors.ts";
import { isOneOf } from "./union.ts";

class OtherError extends Data.TaggedError("OtherError")<{ readonly field: string }> {}

/** Every error class errors.ts exports (a constructor whose instances are Errors). */
const exportedClasses = Object.values(errors).filter(
  (v): v is (typeof PATCHBAY_ERRORS)[number] => typeof v === "function" && v.prototype instanceof Error,
);

describe("PATCHBAY_ERRORS", () => {
  it("lists every error class errors.ts exports, each once", () => {
    expect(new Set(PATCHBAY_ERRORS).size).toBe(PATCHBAY_ERRORS.length);
    expect([...exportedClasses].sort((a, b) => a.name.localeCompare(b.name))).toEqual(
      [...PATCHBAY_ERRORS].sort((a, b) => a.name.localeCompare(b.name)),
    );
  });

  it("isPatchbayError recognises an instance of every class in the list, by its own tag", () => {
    for (const C of PATCHBAY_ERRORS) {
      const e = new C({} as never);
      expect(e._tag, C.name).toBe(C.name);
      expect(isPatchbayError(e), C.name).toBe(true);
      // an error rebuilt from its fields (a worker's report) still counts
      expect(isPatchbayError({ ...e, _tag: e._tag }), C.name).toBe(true);
    }
  });

  it("isPatchbayError recognises nothing else", () => {
    const others: unknown[] = [
      new OtherError({ field: "x" }),
      { _tag: "CausalError" },
      { _tag: "PatchbayError" },
      { _tag: 7 },
      new Error("InputError"),
      new TypeError("bad"),
      "InputError",
      null,
      undefined,
      42,
    ];
    for (const e of others) expect(isPatchbayError(e), String(e)).toBe(false);
  });
});

describe("isOneOf", () => {
  it("recognises exactly the classes it was given", () => {
    const isInputOrOther = isOneOf([errors.InputError, OtherError]);
    expect(isInputOrOther(new OtherError({ field: "x" }))).toBe(true);
    expect(isInputOrOther(new errors.InputError({ field: "f", expected: "e", found: "g" }))).toBe(true);
    expect(isInputOrOther(new errors.ConfigError({ file: "c", field: "f", expected: "e", found: "g" }))).toBe(
      false,
    );
    expect(isOneOf([])(new OtherError({ field: "x" }))).toBe(false);
  });
});
