import fc from "fast-check";
import { Schema } from "effect";
import { describe, expect, it } from "vitest";
import { Plan, plan } from "./spec.ts";

describe("plan()", () => {
  it("fills in the same defaults as decoding a plan file", () => {
    expect(plan()).toEqual(Schema.decodeUnknownSync(Plan)({}));
  });

  it("keeps every field it is given and defaults only the rest", () => {
    const site = fc.constantFrom(
      "blocks.0.hook_resid_pre",
      "blocks.1.attn.hook_z",
      "ln_final.hook_normalized",
    );
    fc.assert(
      fc.property(fc.array(site, { maxLength: 3 }), fc.boolean(), (captures, logits) => {
        expect(plan({ captures, logits })).toEqual(Schema.decodeUnknownSync(Plan)({ captures, logits }));
      }),
    );
  });
});
