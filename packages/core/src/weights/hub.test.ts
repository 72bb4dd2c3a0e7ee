import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect } from "effect";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { commitOf, type FakeHub, folderFiles, startFakeHub } from "../hub/test-support.ts";
import { testdataPath } from "../testing/testdata.ts";
import { isLoadError, loadFolderSync, loadModel, loadModelSync } from "./load.ts";
import { readSafetensors, writeSafetensors } from "./safetensors.ts";
import { isSourcePath } from "./sources.ts";

/** tiny-llama split into two shards with an index, as large checkpoints ship. */
const sharded = (): Map<string, Uint8Array> => {
  const files = folderFiles(testdataPath("fixtures", "tiny-llama"));
  const { tensors } = readSafetensors(testdataPath("fixtures", "tiny-llama", "model.safetensors"));
  const names = [...tensors.keys()].sort();
  const half = Math.ceil(names.length / 2);
  const shardNames = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"];
  const weightMap: Record<string, string> = {};
  names.forEach((n, i) => {
    weightMap[n] = shardNames[i < half ? 0 : 1]!;
  });
  files.delete("model.safetensors");
  shardNames.forEach((s) => {
    const part = new Map(names.filter((n) => weightMap[n] === s).map((n) => [n, tensors.get(n)!] as const));
    files.set(s, writeSafetensors(part));
  });
  files.set(
    "model.safetensors.index.json",
    new TextEncoder().encode(JSON.stringify({ metadata: {}, weight_map: weightMap })),
  );
  return files;
};

const CG = commitOf("gpt2");
const CS = commitOf("sharded llama");
let hub: FakeHub;
beforeAll(async () => {
  hub = await startFakeHub([
    {
      repo: "patchbay-test/tiny-gpt2",
      refs: { main: CG },
      commits: { [CG]: folderFiles(testdataPath("fixtures", "tiny-gpt2")) },
    },
    { repo: "patchbay-test/tiny-llama-sharded", refs: { main: CS }, commits: { [CS]: sharded() } },
  ]);
});
afterAll(() => hub.close());
beforeEach(() => {
  vi.stubEnv("HF_ENDPOINT", hub.endpoint);
  vi.stubEnv("HF_HUB_CACHE", mkdtempSync(join(tmpdir(), "hf-load-")));
  vi.stubEnv("HF_HUB_OFFLINE", "");
  vi.stubEnv("HF_TOKEN", "");
  hub.requests.length = 0;
});
afterEach(() => vi.unstubAllEnvs());

const sameWeights = (a: ReturnType<typeof loadFolderSync>, b: ReturnType<typeof loadFolderSync>) => {
  expect([...a.weights.keys()].sort()).toEqual([...b.weights.keys()].sort());
  for (const [name, t] of a.weights) {
    expect(t.shape, name).toEqual(b.weights.get(name)!.shape);
    expect(t.data, name).toEqual(b.weights.get(name)!.data);
  }
};

describe("hf: model paths", () => {
  it("loadModel downloads (HF_ENDPOINT, HF_HUB_CACHE from the environment) and records the commit", async () => {
    const m = await Effect.runPromise(loadModel("hf:patchbay-test/tiny-gpt2"));
    expect(m).toMatchObject({ source: "hf:patchbay-test/tiny-gpt2", format: "hf" });
    expect(m.revision).toEqual({ repo: "patchbay-test/tiny-gpt2", requested: "main", commit: CG });
    expect(m.folder).toBe(
      join(process.env.HF_HUB_CACHE!, "models--patchbay-test--tiny-gpt2", "snapshots", CG),
    );
    sameWeights(m, loadFolderSync(testdataPath("fixtures", "tiny-gpt2")));
    expect(isSourcePath("hf:patchbay-test/tiny-gpt2")).toBe(true);
  });

  it("a sharded checkpoint (index + shards) downloads every shard and loads as the single file does", async () => {
    const m = await Effect.runPromise(loadModel("hf:patchbay-test/tiny-llama-sharded"));
    const gets = hub.requests.filter((r) => r.url.startsWith("/cdn/"));
    expect(gets).toHaveLength(2);
    sameWeights(m, loadFolderSync(testdataPath("fixtures", "tiny-llama")));
  });

  it("loadModelSync reads the cache only: a typed error before the download, the same model after", async () => {
    let thrown: unknown;
    try {
      loadModelSync("hf:patchbay-test/tiny-gpt2");
    } catch (e) {
      thrown = e;
    }
    expect(isLoadError(thrown)).toBe(true);
    expect(thrown).toMatchObject({ _tag: "HubError", reason: "not-cached" });
    expect((thrown as Error).message).toContain("loadModel");
    expect(hub.requests).toEqual([]);
    await Effect.runPromise(loadModel("hf:patchbay-test/tiny-gpt2"));
    hub.requests.length = 0;
    const m = loadModelSync("hf:patchbay-test/tiny-gpt2");
    expect(m.revision?.commit).toBe(CG);
    expect(hub.requests).toEqual([]);
    vi.stubEnv("HF_HUB_OFFLINE", "1");
    const offline = await Effect.runPromise(Effect.flip(loadModel("hf:patchbay-test/tiny-llama-sharded")));
    expect(offline).toMatchObject({ _tag: "HubError", reason: "offline" });
    expect(hub.requests).toEqual([]);
  });
});
