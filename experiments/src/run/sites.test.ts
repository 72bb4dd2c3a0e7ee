import { Effect } from "effect";
import { loadModel } from "@patchbay/core/weights";
import "@patchbay/zoo"; // registers builtin:<name> model paths with core
import { describe, expect, it } from "vitest";
import { checkSites, namedSites } from "./sites.ts";

describe("the sites a method names", () => {
  it("are found at any depth under site, sites and targetSite; the IIA sweep's 'resid' is not a site", () => {
    expect(
      namedSites({
        _tag: "erasure",
        probe: { site: "blocks.0.resid_post", seed: 1 },
        sites: ["blocks.0.resid_pre", "hook_embed"],
        alignment: [{ variable: "Q", site: "blocks.1.attn.z", positions: ["last"] }],
        source: { site: "blocks.0.resid_pre", position: -1 },
        targetSite: "blocks.1.resid_pre",
        other: "blocks.7.resid_pre",
      }),
    ).toEqual([
      ["method.probe.site", "blocks.0.resid_post"],
      ["method.sites[0]", "blocks.0.resid_pre"],
      ["method.sites[1]", "hook_embed"],
      ["method.alignment[0].site", "blocks.1.attn.z"],
      ["method.source.site", "blocks.0.resid_pre"],
      ["method.targetSite", "blocks.1.resid_pre"],
    ]);
    expect(namedSites({ _tag: "iia-sweep", variable: "Q", sites: "resid" })).toEqual([]);
    expect(namedSites({ _tag: "probe", site: ["blocks.0.resid_post", "blocks.1.resid_post"] })).toHaveLength(
      2,
    );
  });

  it("are checked against the model: both spellings pass, an unknown one is an InputError with the nearest names", async () => {
    const { config } = await Effect.runPromise(loadModel("builtin:induction"));
    expect(checkSites({ site: "blocks.1.hook_resid_pre", sites: ["blocks.0.attn.z"] }, config)).toBeNull();
    const bad = checkSites({ steer: { site: "blocks.1.resid_prr" } }, config, " (cell 2/3)");
    expect(bad?._tag).toBe("InputError");
    expect(bad?.field).toBe("method.steer.site (cell 2/3)");
    expect(bad?.expected).toContain("nearest: blocks.1.resid_pre");
    expect(bad?.found).toBe('"blocks.1.resid_prr"');
  });
});
