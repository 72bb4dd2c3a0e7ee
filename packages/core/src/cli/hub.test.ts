import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { commitOf, type FakeHub, folderFiles, startFakeHub } from "../hub/test-support.ts";
import { testdataPath } from "../testing/testdata.ts";

/** The CLI with hf: model paths, against a local Hub (the child reaches it through HF_ENDPOINT). */
const main = fileURLToPath(new URL("./main.ts", import.meta.url));
const tsx = fileURLToPath(new URL("../../../../node_modules/.bin/tsx", import.meta.url));
// asynchronous: the fake Hub answers from this process while the child runs
const patchbay = (env: Record<string, string>, ...args: string[]) =>
  new Promise<{ code: number; out: string; err: string }>((resolve) => {
    execFile(
      tsx,
      [main, ...args],
      { env: { ...process.env, ...env }, timeout: 120_000, maxBuffer: 1 << 26 },
      (e, out, err) => resolve({ code: e === null ? 0 : typeof e.code === "number" ? e.code : -1, out, err }),
    );
  });

const C = commitOf("cli tiny-gpt2");
let hub: FakeHub;
let env: Record<string, string>;
beforeAll(async () => {
  const files = folderFiles(testdataPath("fixtures", "tiny-gpt2"));
  hub = await startFakeHub([
    { repo: "patchbay-test/tiny-gpt2", refs: { main: C }, commits: { [C]: files } },
    { repo: "patchbay-test/private", refs: { main: C }, commits: { [C]: files }, private: true },
  ]);
  env = {
    HF_ENDPOINT: hub.endpoint,
    HF_HUB_CACHE: mkdtempSync(join(tmpdir(), "hf-cli-")),
    HF_HUB_OFFLINE: "",
    HF_TOKEN: "",
  };
});
afterAll(() => hub.close());

describe("patchbay <command> --model hf:owner/name", () => {
  it("logits from the Hub equal the fixture folder's; then sites works offline with no request", async () => {
    const fromHub = await patchbay(
      env,
      "logits",
      "--model",
      "hf:patchbay-test/tiny-gpt2",
      "--ids",
      "1,2,3",
      "--json",
    );
    expect(fromHub.code, fromHub.err).toBe(0);
    const local = await patchbay(
      env,
      "logits",
      "--model",
      testdataPath("fixtures", "tiny-gpt2"),
      "--ids",
      "1,2,3",
      "--json",
    );
    expect(JSON.parse(fromHub.out).logits).toEqual(JSON.parse(local.out).logits);
    hub.requests.length = 0;
    const sites = await patchbay(
      { ...env, HF_HUB_OFFLINE: "1" },
      "sites",
      "--model",
      "hf:patchbay-test/tiny-gpt2",
    );
    expect(sites.code, sites.err).toBe(0);
    expect(sites.out).toContain("blocks.0.attn.q");
    expect(hub.requests).toEqual([]);
  }, 120_000);

  it("a private repository: a typed HubError naming HF_TOKEN, and a refused token never printed", async () => {
    const secret = "hf_refusedButSecret555";
    const r = await patchbay(
      { ...env, HF_TOKEN: secret },
      "logits",
      "--model",
      "hf:patchbay-test/private",
      "--ids",
      "1",
    );
    expect(r.code).toBe(1);
    expect(r.err).toContain("patchbay logits: HubError: ");
    expect(r.err).toContain("unauthorized");
    expect(r.err + r.out).not.toContain(secret);
  }, 120_000);
});
