import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { commitOf, type FakeHub, folderFiles, startFakeHub } from "../../../core/src/hub/test-support.ts";
import { testdataPath } from "../../../core/src/testing/testdata.ts";
import { open } from "./model.ts";

/** The Promise API's open("hf:…") against a local Hub (HF_ENDPOINT, HF_HUB_CACHE in the environment). */
const C = commitOf("promise api tiny-llama");
let hub: FakeHub;
beforeAll(async () => {
  const files = folderFiles(testdataPath("fixtures", "tiny-llama"));
  hub = await startFakeHub([
    { repo: "patchbay-test/tiny-llama", refs: { main: C }, commits: { [C]: files } },
  ]);
  vi.stubEnv("HF_ENDPOINT", hub.endpoint);
  vi.stubEnv("HF_HUB_CACHE", mkdtempSync(join(tmpdir(), "hf-api-")));
  vi.stubEnv("HF_HUB_OFFLINE", "");
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await hub.close();
});

describe('open("hf:owner/name")', () => {
  it("downloads, names the commit, and runs as the fixture folder does", async () => {
    await using fromHub = await open("hf:patchbay-test/tiny-llama", { threads: 1 });
    await using local = await open(testdataPath("fixtures", "tiny-llama"), { threads: 1 });
    expect(fromHub.revision).toEqual({ repo: "patchbay-test/tiny-llama", requested: "main", commit: C });
    expect(local.revision).toBeUndefined();
    const a = await fromHub.run([[1, 2, 3, 4]]);
    const b = await local.run([[1, 2, 3, 4]]);
    expect(a.logits.data).toEqual(b.logits.data);
  });

  it("a revision the repository does not have rejects with a typed HubError", async () => {
    await expect(open("hf:patchbay-test/tiny-llama@no-such-branch")).rejects.toMatchObject({
      _tag: "HubError",
      reason: "revision-not-found",
    });
  });
});
