import {
  existsSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  writeFileSync,
  mkdirSync,
} from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect } from "effect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HubError } from "../errors/errors.ts";
import { testdataPath } from "../testing/testdata.ts";
import { cachedSnapshotSync, downloadModel, downloadSnapshot } from "./download.ts";
import { hubSettings } from "./settings.ts";
import {
  commitOf,
  etagOf,
  type FakeHub,
  folderFiles,
  gitBlobSha,
  sha256Hex,
  startFakeHub,
} from "./test-support.ts";

const gpt2 = folderFiles(testdataPath("fixtures", "tiny-gpt2"));
const llama = folderFiles(testdataPath("fixtures", "tiny-llama"));
const tokenizerJson = new TextEncoder().encode(
  JSON.stringify({ model: { type: "BPE", vocab: {}, merges: [] } }),
);
const C1 = commitOf("tiny-gpt2 v1");
const C2 = commitOf("tiny-gpt2 v2");
const CL = commitOf("tiny-llama");
const withTokenizer = new Map([...gpt2, ["tokenizer.json", tokenizerJson]]);

let hub: FakeHub;
beforeAll(async () => {
  hub = await startFakeHub([
    {
      repo: "patchbay-test/tiny-gpt2",
      refs: { main: C2, v1: C1 },
      commits: { [C1]: gpt2, [C2]: withTokenizer },
    },
    { repo: "patchbay-test/tiny-llama", refs: { main: CL }, commits: { [CL]: llama } },
    { repo: "patchbay-test/private", refs: { main: C1 }, commits: { [C1]: gpt2 }, private: true },
    { repo: "patchbay-test/gated", refs: { main: C1 }, commits: { [C1]: gpt2 }, gated: true },
    {
      repo: "patchbay-test/no-weights",
      refs: { main: C1 },
      commits: { [C1]: new Map([["config.json", gpt2.get("config.json")!]]) },
    },
    {
      repo: "patchbay-test/evil",
      refs: { main: C1 },
      commits: { [C1]: new Map([...gpt2, ["../../escape.json", new Uint8Array(2)]]) },
    },
  ]);
});
afterAll(() => hub.close());

const fresh = (extra: Record<string, string> = {}) =>
  hubSettings({
    HF_ENDPOINT: hub.endpoint,
    HF_HUB_CACHE: mkdtempSync(join(tmpdir(), "hf-cache-")),
    ...extra,
  });
const reset = () => {
  hub.requests.length = 0;
  hub.cut = null;
  hub.ignoreRange = false;
  hub.corrupt.clear();
  hub.refuseAll = false;
  hub.stall = false;
};
const failure = (path: string, opts: Parameters<typeof downloadModel>[1]) =>
  Effect.runPromise(Effect.flip(downloadModel(path, opts))) as Promise<HubError>;
const repoDir = (cache: string, repo: string) => join(cache, `models--${repo.replace("/", "--")}`);
const cdnGets = () => hub.requests.filter((r) => r.method === "GET" && r.url.startsWith("/cdn/"));
const weights = gpt2.get("model.safetensors")!;

describe("downloadModel against a local Hub", () => {
  it("downloads config, weights and tokenizer into the huggingface_hub layout, then reuses them", async () => {
    reset();
    const settings = fresh();
    const snap = await Effect.runPromise(downloadModel("hf:patchbay-test/tiny-gpt2", { settings }));
    expect(snap).toMatchObject({ repo: "patchbay-test/tiny-gpt2", requested: "main", commit: C2 });
    const dir = repoDir(settings.cacheDir, "patchbay-test/tiny-gpt2");
    expect(snap.folder).toBe(join(dir, "snapshots", C2));
    expect(readFileSync(join(dir, "refs", "main"), "utf8")).toBe(C2); // no newline, as huggingface_hub writes it
    for (const [file, bytes] of withTokenizer) {
      const pointer = join(snap.folder, file);
      expect(lstatSync(pointer).isSymbolicLink(), file).toBe(true);
      expect(readlinkSync(pointer), file).toBe(`../../blobs/${etagOf(file, bytes)}`);
      expect(new Uint8Array(readFileSync(pointer)), file).toEqual(bytes);
    }
    expect(readlinkSync(join(snap.folder, "model.safetensors"))).toBe(`../../blobs/${sha256Hex(weights)}`);
    expect(readlinkSync(join(snap.folder, "config.json"))).toBe(
      `../../blobs/${gitBlobSha(gpt2.get("config.json")!)}`,
    );
    expect(readdirSync(join(dir, "blobs")).some((f) => f.endsWith(".incomplete"))).toBe(false);
    expect(hub.requests.filter((r) => r.method === "HEAD")).toHaveLength(3);
    expect(cdnGets()).toHaveLength(1); // the LFS file came from the CDN path the redirect named
    // a second load asks only which commit main is, and downloads nothing
    reset();
    await Effect.runPromise(downloadModel("hf:patchbay-test/tiny-gpt2", { settings }));
    expect(hub.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      "GET /api/models/patchbay-test/tiny-gpt2/revision/main",
    ]);
  });

  it("resumes a transfer cut mid-way with a Range request, and the blob is byte-identical", async () => {
    reset();
    const settings = fresh();
    hub.cut = { bytes: 1000, times: 1 };
    const snap = await Effect.runPromise(downloadModel("hf:patchbay-test/tiny-gpt2", { settings }));
    const gets = cdnGets();
    expect(gets).toHaveLength(2);
    expect(gets[0]!.range).toBeUndefined();
    expect(gets[1]!.range).toBe("bytes=1000-");
    expect(new Uint8Array(readFileSync(join(snap.folder, "model.safetensors")))).toEqual(weights);
  });

  it("resumes across runs: a cut with no retries leaves blobs/<sha256>.incomplete, the next run continues it", async () => {
    reset();
    const settings = fresh();
    hub.cut = { bytes: 1500, times: 1 };
    const e = await failure("hf:patchbay-test/tiny-gpt2@v1", { settings, retries: 0 });
    expect(e).toMatchObject({ _tag: "HubError", reason: "network", file: "model.safetensors" });
    const partial = join(
      repoDir(settings.cacheDir, "patchbay-test/tiny-gpt2"),
      "blobs",
      `${sha256Hex(weights)}.incomplete`,
    );
    expect(statSync(partial).size).toBe(1500);
    reset();
    const snap = await Effect.runPromise(downloadModel("hf:patchbay-test/tiny-gpt2@v1", { settings }));
    expect(cdnGets().map((r) => r.range)).toEqual(["bytes=1500-"]);
    expect(new Uint8Array(readFileSync(join(snap.folder, "model.safetensors")))).toEqual(weights);
    expect(existsSync(partial)).toBe(false);
  });

  it("restarts the file when the server ignores Range and answers 200", async () => {
    reset();
    const settings = fresh();
    const blobs = join(repoDir(settings.cacheDir, "patchbay-test/tiny-gpt2"), "blobs");
    mkdirSync(blobs, { recursive: true });
    writeFileSync(join(blobs, `${sha256Hex(weights)}.incomplete`), new Uint8Array(700).fill(7));
    hub.ignoreRange = true;
    const snap = await Effect.runPromise(downloadModel("hf:patchbay-test/tiny-gpt2", { settings }));
    expect(cdnGets()[0]!.range).toBe("bytes=700-");
    expect(new Uint8Array(readFileSync(join(snap.folder, "model.safetensors")))).toEqual(weights);
  });

  it("two downloads of one model at once: the blob lock makes the second wait, and the weights are fetched once", async () => {
    reset();
    const settings = fresh();
    const [a, b] = await Promise.all([
      Effect.runPromise(downloadModel("hf:patchbay-test/tiny-gpt2", { settings })),
      Effect.runPromise(downloadModel("hf:patchbay-test/tiny-gpt2", { settings })),
    ]);
    expect(a.folder).toBe(b.folder);
    expect(cdnGets()).toHaveLength(1);
    expect(new Uint8Array(readFileSync(join(a.folder, "model.safetensors")))).toEqual(weights);
    const locks = join(settings.cacheDir, ".locks", "models--patchbay-test--tiny-gpt2");
    expect(readdirSync(locks)).toEqual([]); // released
  });

  it("a file whose sha256 differs from the Hub's is a typed error and is deleted", async () => {
    reset();
    const settings = fresh();
    hub.corrupt.add(sha256Hex(weights));
    const e = await failure("hf:patchbay-test/tiny-gpt2", { settings });
    expect(e).toMatchObject({ _tag: "HubError", reason: "checksum", file: "model.safetensors" });
    expect(e.message).toContain(sha256Hex(weights));
    const blobs = readdirSync(join(repoDir(settings.cacheDir, "patchbay-test/tiny-gpt2"), "blobs"));
    expect(blobs.filter((b) => b.startsWith(sha256Hex(weights)))).toEqual([]);
  });

  it("offline: a cached model loads with zero requests; an uncached one is a typed error naming what is missing", async () => {
    reset();
    const settings = fresh();
    await Effect.runPromise(downloadModel("hf:patchbay-test/tiny-gpt2", { settings }));
    reset();
    hub.refuseAll = true;
    const offline = { ...settings, offline: true };
    const snap = await Effect.runPromise(downloadModel("hf:patchbay-test/tiny-gpt2", { settings: offline }));
    expect(snap.commit).toBe(C2);
    const missing = await failure("hf:patchbay-test/tiny-gpt2@v1", { settings: offline });
    expect(missing).toMatchObject({ _tag: "HubError", reason: "offline" });
    expect(missing.message).toContain("refs/v1");
    const sync = (() => {
      try {
        return cachedSnapshotSync("hf:patchbay-test/tiny-llama", offline);
      } catch (e) {
        return e as HubError;
      }
    })();
    expect(sync).toMatchObject({ _tag: "HubError", reason: "offline" });
    expect(hub.requests).toEqual([]);
  });

  it("a gated repository is a typed error, with and without a token", async () => {
    reset();
    const none = await failure("hf:patchbay-test/gated", { settings: fresh() });
    expect(none).toMatchObject({ _tag: "HubError", reason: "gated", repo: "patchbay-test/gated" });
    const wrong = await failure("hf:patchbay-test/gated", { settings: fresh({ HF_TOKEN: "hf_notAllowed" }) });
    expect(wrong).toMatchObject({ reason: "gated", found: expect.stringContaining("403") });
  });

  it("401 without a token, success with HF_TOKEN; no token ever in an error or a result", async () => {
    reset();
    const e = await failure("hf:patchbay-test/private", { settings: fresh() });
    expect(e).toMatchObject({ _tag: "HubError", reason: "unauthorized" });
    expect(e.message).toContain("HF_TOKEN");
    // a wrong token that the server echoes back in its error message is redacted
    const wrongToken = "hf_wrongButSecret987";
    const wrong = await failure("hf:patchbay-test/private", { settings: fresh({ HF_TOKEN: wrongToken }) });
    expect(wrong.reason).toBe("unauthorized");
    expect(`${wrong.message} ${JSON.stringify(wrong)}`).not.toContain(wrongToken);
    reset();
    const settings = fresh({ HF_TOKEN: hub.token });
    const snap = await Effect.runPromise(downloadModel("hf:patchbay-test/private", { settings }));
    expect(JSON.stringify(snap)).not.toContain(hub.token);
    expect(
      hub.requests
        .filter((r) => !r.url.startsWith("/cdn/"))
        .every((r) => r.authorization === `Bearer ${hub.token}`),
    ).toBe(true);
    // a transfer cut and a failure on the same repository do not leak it either
    hub.corrupt.add(sha256Hex(weights));
    const bad = await failure("hf:patchbay-test/private", { settings: fresh({ HF_TOKEN: hub.token }) });
    expect(bad.reason).toBe("checksum");
    expect(`${bad.message} ${JSON.stringify(bad)}`).not.toContain(hub.token);
  });

  it("reads a cache laid out by huggingface_hub, with the server refusing every request", async () => {
    reset();
    const cache = mkdtempSync(join(tmpdir(), "hf-python-"));
    const dir = repoDir(cache, "patchbay-test/tiny-llama");
    mkdirSync(join(dir, "blobs"), { recursive: true });
    mkdirSync(join(dir, "refs"), { recursive: true });
    mkdirSync(join(dir, "snapshots", CL), { recursive: true });
    for (const [file, bytes] of llama) {
      writeFileSync(join(dir, "blobs", etagOf(file, bytes)), bytes);
      symlinkSync(`../../blobs/${etagOf(file, bytes)}`, join(dir, "snapshots", CL, file));
    }
    writeFileSync(join(dir, "refs", "main"), CL);
    hub.refuseAll = true;
    const settings = hubSettings({ HF_ENDPOINT: hub.endpoint, HF_HUB_CACHE: cache });
    const byCommit = await Effect.runPromise(
      downloadModel(`hf:patchbay-test/tiny-llama@${CL}`, { settings }),
    );
    expect(byCommit.folder).toBe(join(dir, "snapshots", CL));
    expect(hub.requests).toEqual([]); // a complete commit snapshot needs no request
    // by branch: the Hub is unreachable, so the cached ref is used (as huggingface_hub does)
    const byBranch = await Effect.runPromise(downloadModel("hf:patchbay-test/tiny-llama", { settings }));
    expect(byBranch.commit).toBe(CL);
    expect(hub.requests.length).toBeGreaterThan(0);
  });

  it("hf:owner/name@revision: a tag writes refs/<tag>; a commit sha needs no refs file", async () => {
    reset();
    const settings = fresh();
    const dir = repoDir(settings.cacheDir, "patchbay-test/tiny-gpt2");
    const tagged = await Effect.runPromise(downloadModel("hf:patchbay-test/tiny-gpt2@v1", { settings }));
    expect(tagged).toMatchObject({ requested: "v1", commit: C1 });
    expect(readFileSync(join(dir, "refs", "v1"), "utf8")).toBe(C1);
    expect(existsSync(join(tagged.folder, "tokenizer.json"))).toBe(false); // v1 has none
    const pinned = await Effect.runPromise(downloadModel(`hf:patchbay-test/tiny-gpt2@${C2}`, { settings }));
    expect(pinned).toMatchObject({ requested: C2, commit: C2 });
    expect(readdirSync(join(dir, "refs"))).toEqual(["v1"]);
    // the weights blob is shared by both snapshots: one file in blobs/
    expect(readdirSync(join(dir, "blobs")).filter((b) => b === sha256Hex(weights))).toHaveLength(1);
  });

  it("maps 404s, a missing weights file, a refused connection and unsafe names to typed errors", async () => {
    reset();
    const settings = fresh();
    expect(await failure("hf:patchbay-test/tiny-gpt2@nope", { settings })).toMatchObject({
      reason: "revision-not-found",
    });
    expect(
      await failure("hf:patchbay-test/absent", { settings: fresh({ HF_TOKEN: hub.token }) }),
    ).toMatchObject({
      reason: "repo-not-found",
    });
    expect(await failure("hf:patchbay-test/no-weights", { settings })).toMatchObject({
      reason: "file-not-found",
      file: "model.safetensors",
    });
    expect(await failure("hf:patchbay-test/evil", { settings })).toMatchObject({ reason: "unsafe-name" });
    expect(await failure("hf:../../etc", { settings })).toMatchObject({ reason: "unsafe-name" });
    // a port that was just free: nothing listens there
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((r) => probe.close(() => r()));
    const closed = hubSettings({ HF_ENDPOINT: `http://127.0.0.1:${port}`, HF_HUB_CACHE: settings.cacheDir });
    const refused = await failure("hf:patchbay-test/tiny-gpt2", { settings: closed });
    expect(refused).toMatchObject({ reason: "network" });
    expect(refused.found).toContain("ECONNREFUSED");
    hub.stall = true;
    const stalled = await failure("hf:patchbay-test/tiny-gpt2", { settings, timeoutMs: 200 });
    expect(stalled).toMatchObject({ reason: "network" });
    expect(stalled.found).toContain("ETIMEDOUT");
  });

  it("a full disk while writing a blob is a typed error (through the file-system seam)", async () => {
    reset();
    const settings = fresh();
    const e = await downloadSnapshot("hf:patchbay-test/tiny-gpt2", {
      settings,
      openSink: () => ({
        write: () => {
          throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
        },
        close: () => {},
      }),
    }).catch((x: unknown) => x as HubError);
    expect(e).toMatchObject({ _tag: "HubError", reason: "disk-full", file: "config.json" });
  });
});
