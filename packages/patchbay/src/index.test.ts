import * as Core from "@patchbay/core";
import { describe, expect, it } from "vitest";
import * as patchbay from "./index.ts";

describe("patchbay's public API", () => {
  it("re-exports every @patchbay/core namespace, the same objects", () => {
    const exported = patchbay as unknown as Record<string, unknown>;
    for (const [ns, value] of Object.entries(Core)) expect(exported[ns], ns).toBe(value);
  });

  it("carries the Promise API and the Effect entry point beside the namespaces", () => {
    expect(typeof patchbay.open).toBe("function");
    expect(typeof patchbay.circuits.eap).toBe("function");
    expect(typeof patchbay.causal.iia).toBe("function");
    expect(patchbay.openModel).toBe(Core.Runtime.openModel);
  });
});
