import { describe, expect, it } from "vitest";
import { PATCHBAY_ERRORS } from "../errors/errors.ts";
import { isLoadError, LOAD_ERRORS } from "./load.ts";

describe("LOAD_ERRORS", () => {
  it("are patchbay errors, and isLoadError recognises exactly them", () => {
    for (const C of LOAD_ERRORS) expect(PATCHBAY_ERRORS, C.name).toContain(C);
    for (const C of PATCHBAY_ERRORS) {
      const e = new C({} as never);
      expect(isLoadError(e), C.name).toBe((LOAD_ERRORS as readonly unknown[]).includes(C));
    }
    expect(isLoadError(new Error("WeightFileError"))).toBe(false);
    expect(isLoadError(null)).toBe(false);
  });
});
