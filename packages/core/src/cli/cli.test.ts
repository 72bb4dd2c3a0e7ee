import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { hasSharedModels, sharedModelPath, warnIfNoSharedModels } from "../testing/shared.ts";
import { testdataPath } from "../testing/testdata.ts";
import { syntheticGguf, syntheticGpt2, syntheticLlama2c, writeFolder } from "../weights/test-support.ts";

/** The CLI as a user runs it: a child process, its stdout, its stderr and its exit code. */
const main = fileURLToPath(new URL("./main.ts", import.meta.url));
const tsx = fileURLToPath(new URL("../../../../node_modules/.bin/tsx", import.meta.url));
const patchbay = (...args: string[]) => {
  const t0 = Date.now();
  const r = spawnSync(tsx, [main, ...args], { encoding: "utf8", timeout: 120_000, maxBuffer: 1 << 28 });
  return { code: r.status, out: r.stdout, err: r.stderr, ms: Date.now() - t0, signal: r.signal };
};

/**
 * A typed failure as the CLI prints it: exit 1, `patchbay <cmd>: <Tag>: …` (with --json: one
 * `{"error": {"tag": <Tag>, …}}` object), no stack trace, nothing on stdout.
 */
const expectTypedFailure = (
  r: ReturnType<typeof patchbay>,
  command: string,
  tag: string,
  json: boolean,
): void => {
  expect(r.signal, "the command hung").toBeNull();
  expect(r.code, r.err).toBe(1);
  if (json) expect(JSON.parse(r.err).error.tag).toBe(tag);
  else expect(r.err).toContain(`patchbay ${command}: ${tag}: `);
  expect(r.err).not.toMatch(/\n\s+at /); // no stack trace
  expect(r.err).not.toContain("TypeError");
  expect(r.out).toBe("");
};

describe("CLI without a checkpoint", () => {
  it("usage errors exit 2 and print the usage", () => {
    const r = patchbay("logits", "--model");
    expect(r.code).toBe(2);
    expect(r.err).toContain("usage: patchbay logits");
  });
  it("an unknown command exits 2", () => {
    expect(patchbay("frobnicate").code).toBe(2);
  });
  it("a missing model exits 1 with a typed error naming the path", () => {
    const r = patchbay("sites", "--model", "/nonexistent/model");
    expect(r.code).toBe(1);
    expect(r.err).toContain("ModelNotFoundError");
    expect(r.err).toContain("/nonexistent/model");
  });
  it("a corrupted weight file exits 1 with a typed error naming the file", () => {
    const dir = mkdtempSync(join(tmpdir(), "pb-cli-"));
    writeFileSync(join(dir, "broken.bin"), new Uint8Array([1, 2, 3]));
    const r = patchbay("sites", "--model", join(dir, "broken.bin"));
    expect(r.code).toBe(1);
    expect(r.err).toContain("broken.bin");
  });
});

describe("CLI on the tiny fixtures (testdata)", () => {
  const tiny = testdataPath("fixtures", "tiny-gpt2");
  it("logits --json prints one row per position matching the PyTorch reference", () => {
    const e = JSON.parse(readFileSync(join(tiny, "expected.json"), "utf8")) as {
      input_ids: number[][];
      logits: number[][][];
    };
    const r = patchbay("logits", "--model", tiny, "--ids", e.input_ids[0]!.join(","), "--json");
    expect(r.code).toBe(0);
    const got = JSON.parse(r.out) as { logits: number[][] };
    expect(got.logits.length).toBe(e.input_ids[0]!.length);
    let worst = 0;
    got.logits.forEach((row, p) => {
      row.forEach((x, v) => {
        worst = Math.max(worst, Math.abs(x - e.logits[0]![p]![v]!));
      });
    });
    expect(worst).toBeLessThan(1e-4);
  });
  it("logits with an id out of range exits 1 naming the position and the vocabulary", () => {
    const r = patchbay("logits", "--model", tiny, "--ids", "1,2,999");
    expect(r.code).toBe(1);
    expect(r.err).toContain("InputError");
    expect(r.err).toContain("ids[0][2]");
    expect(r.err).toContain("[0, 61)");
  });
  it("sites lists every site with its TransformerLens name", () => {
    const r = patchbay("sites", "--model", testdataPath("fixtures", "tiny-neox"), "--json");
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as { sites: { site: string; shape: string; tl: string }[] };
    const rotK = j.sites.find((s) => s.site === "blocks.1.attn.rot_k")!;
    expect(rotK.tl).toBe("blocks.1.attn.hook_rot_k");
    expect(rotK.shape).toBe("[batch, pos, kv_head=4, d_head=8]");
    expect(j.sites.some((s) => s.site.includes("resid_mid"))).toBe(false); // parallel residual
  });
  it("sites says which types a GGUF's tensors were stored in (an F16 embedding, 19 F32 tensors)", () => {
    const file = join(mkdtempSync(join(tmpdir(), "pb-cli-")), "mixed.gguf");
    writeFileSync(
      file,
      syntheticGguf(syntheticLlama2c(true).parts, [{ key: "general.file_type", type: "u32", value: 1 }]),
    );
    const text = patchbay("sites", "--model", file);
    expect(text.code, text.err).toBe(0);
    expect(text.out).toMatch(/; stored as F16: 19 F32, 1 F16\n$/);
    const json = JSON.parse(patchbay("sites", "--model", file, "--json").out);
    expect(json.quantization).toEqual({ fileType: "F16", counts: { F32: 19, F16: 1 } });
  });
});

warnIfNoSharedModels("cli/cli.test.ts: the CLI on stories260K (generate, patch, the model's context)");

describe.skipIf(!hasSharedModels)("CLI on real checkpoints (../shared/models)", () => {
  it("generate reproduces the stories260K greedy story from its prompt", () => {
    const r = patchbay(
      "generate",
      "--model",
      sharedModelPath("stories260K", "stories260K.bin"),
      "--prompt",
      "Once upon a time",
      "--max-tokens",
      "20",
    );
    expect(r.code).toBe(0);
    expect(r.out).toContain("Once upon a time, there was a little girl named Lily.");
  });
  it("generate with a temperature is reproducible by seed", () => {
    const args = [
      "generate",
      "--model",
      sharedModelPath("stories260K", "stories260K.gguf"),
      "--prompt",
      "Lily",
      "--max-tokens",
      "16",
      "--temperature",
      "0.9",
    ];
    const a = patchbay(...args, "--seed", "7");
    const b = patchbay(...args, "--seed", "7");
    expect(a.code).toBe(0);
    expect(a.out).toBe(b.out);
  });
  it("an empty prompt is a typed error", () => {
    const r = patchbay(
      "generate",
      "--model",
      sharedModelPath("stories260K", "stories260K.bin"),
      "--prompt",
      "",
      "--max-tokens",
      "3",
    );
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/prompt/);
  });
  it("patch: the last layer's resid_post at the last position carries the source's next-token distribution", () => {
    const r = patchbay(
      "patch",
      "--model",
      sharedModelPath("stories260K", "stories260K.bin"),
      "--base",
      "Lily went to the park. She saw a big dog",
      "--source",
      "Tom went to the park. He saw a big cat",
      "--site",
      "blocks.4.resid_post",
      "--positions=-1",
      "--top-k",
      "5",
      "--json",
    );
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as Record<
      "base" | "source" | "patched",
      { top: { id: number; prob: number }[] }
    >;
    expect(j.patched.top.map((t) => t.id)).toEqual(j.source.top.map((t) => t.id));
    j.patched.top.forEach((t, i) => {
      expect(Math.abs(t.prob - j.source.top[i]!.prob)).toBeLessThan(1e-5);
    });
    expect(j.base.top.map((t) => t.id)).not.toEqual(j.source.top.map((t) => t.id));
  });
  it("patch: prompts of different lengths need --positions", () => {
    const r = patchbay(
      "patch",
      "--model",
      sharedModelPath("stories260K", "stories260K.bin"),
      "--base",
      "Lily",
      "--source",
      "Tom went home",
      "--site",
      "blocks.0.attn_out",
    );
    expect(r.code).toBe(1);
    expect(r.err).toContain("--positions");
  });
});

describe("CLI: no silent wrong answers", () => {
  const nanFolder = () => {
    const { config, tensors } = syntheticGpt2();
    const w = tensors.get("h.0.mlp.c_fc.weight")!;
    const data = Float32Array.from(w.data);
    data[42] = Number.NaN;
    return writeFolder(config, new Map(tensors).set("h.0.mlp.c_fc.weight", { data, shape: w.shape }));
  };

  it("logits --json with a NaN weight exits 1 with a typed message naming file, tensor and index", () => {
    const dir = nanFolder();
    for (const json of [["--json"], []]) {
      const r = patchbay("logits", "--model", dir, "--ids", "1,2,3", ...json);
      expectTypedFailure(r, "logits", "WeightFileError", json.length > 0);
      expect(r.err).toContain(join(dir, "model.safetensors"));
      expect(r.err).toContain("tensor h.0.mlp.c_fc.weight");
      expect(r.err).toContain("NaN at flat index 42 (index [1, 10] of shape [8, 32])");
    }
  });

  it("logits of a model whose finite weights overflow: RuntimeError naming the logits, not nulls", () => {
    // llama2.c with an unshared classifier scaled to ±3e38: finite, loads, overflows in the forward
    const { bytes, parts } = syntheticLlama2c(false);
    const b = Uint8Array.from(bytes);
    const dv = new DataView(b.buffer);
    const wcls = parts.get("wcls")!;
    const start = b.length - 4 * wcls.length;
    for (let i = 0; i < wcls.length; i++) dv.setFloat32(start + 4 * i, Math.sign(wcls[i]!) * 3e38, true);
    const dir = mkdtempSync(join(tmpdir(), "pb-cli-"));
    writeFileSync(join(dir, "model.bin"), b);
    const r = patchbay("logits", "--model", join(dir, "model.bin"), "--ids", "1,2", "--json");
    expectTypedFailure(r, "logits", "RuntimeError", true);
    expect(r.err).toMatch(/forward failed: non-finite logits: (NaN|\+Inf|-Inf) for example 0 at position 0/);
  });
});

describe.skipIf(!hasSharedModels)("CLI: the model's context (stories260K, seq_len 512)", () => {
  const stories = sharedModelPath("stories260K", "stories260K.bin");

  it("generate --max-tokens 100000 fails at once (before any compute), naming the context", () => {
    const r = patchbay(
      "generate",
      "--model",
      stories,
      "--prompt",
      "Once upon a time",
      "--max-tokens",
      "100000",
    );
    expectTypedFailure(r, "generate", "InputError", false);
    expect(r.err).toContain("maxTokens");
    expect(r.err).toContain("n_ctx = 512");
    expect(r.err).toContain("maxTokens 100000");
    // process start and model load only; a generation past the context would run for hours
    expect(r.ms).toBeLessThan(20_000);
  });

  it("logits with 600 ids fails naming the length and the context; --allow-long-context runs it", () => {
    const ids = Array.from({ length: 600 }, (_, i) => 1 + ((i * 37) % 500)).join(",");
    const r = patchbay("logits", "--model", stories, "--ids", ids, "--json");
    expectTypedFailure(r, "logits", "InputError", true);
    expect(r.err).toContain("ids[0]");
    expect(r.err).toContain("600 tokens");
    expect(r.err).toContain("--allow-long-context");
    const ok = patchbay("logits", "--model", stories, "--ids", ids, "--json", "--allow-long-context");
    expect(ok.code, ok.err).toBe(0);
    const rows = (JSON.parse(ok.out) as { logits: number[][] }).logits;
    expect(rows.length).toBe(600);
    expect(rows.every((row) => row.every((x) => typeof x === "number" && Number.isFinite(x)))).toBe(true);
  });

  it("patch and generate accept --allow-long-context", () => {
    const p = patchbay(
      "patch",
      "--model",
      stories,
      "--base",
      "Lily went to the park",
      "--source",
      "Tom went to the park",
      "--site",
      "blocks.0.attn_out",
      "--positions=-1",
      "--json",
      "--allow-long-context",
    );
    expect(p.code, p.err).toBe(0);
    const g = patchbay(
      "generate",
      "--model",
      stories,
      "--prompt",
      "Once upon a time",
      "--max-tokens",
      "4",
      "--allow-long-context",
    );
    expect(g.code, g.err).toBe(0);
    expect(g.out).toContain("Once upon a time");
  });
});

describe("--compile-cache DIR", () => {
  it("stores the optimized graph there, a second process loads it with the same logits; an empty folder name is a usage error", () => {
    const dir = mkdtempSync(join(tmpdir(), "patchbay-cli-compiled-"));
    const model = testdataPath("fixtures/tiny-llama");
    const args = ["logits", "--model", model, "--ids", "1,5,9,2", "--json", "--compile-cache", dir];
    const first = patchbay(...args);
    expect(first.code, first.err).toBe(0);
    const entries = () => readdirSync(dir).filter((n) => /^[0-9a-f]{64}$/.test(n));
    expect(entries()).toHaveLength(1);
    const second = patchbay(...args);
    expect(second.code, second.err).toBe(0);
    expect(second.out).toBe(first.out);
    expect(entries()).toHaveLength(1);
    const plain = patchbay("logits", "--model", model, "--ids", "1,5,9,2", "--json");
    expect(plain.out).toBe(first.out);
    const bad = patchbay("logits", "--model", model, "--ids", "1,5", "--compile-cache", "");
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("--compile-cache expects a folder");
    rmSync(dir, { recursive: true, force: true });
  });
});
