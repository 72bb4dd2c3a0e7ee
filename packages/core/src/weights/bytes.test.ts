import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadModelSync } from "./load.ts";
import { writeSafetensors } from "./safetensors.ts";
import { syntheticGpt2, syntheticLlama2c, tempDir, writeFolder } from "./test-support.ts";

/**
 * Every file a loader opens (weights, config.json, a shard index, tokenizer files) must be a
 * regular file (a symlink to one is fine); anything else is a typed error at once. A FIFO is
 * the dangerous case: opening one for reading blocks until a writer appears, so a regression
 * would hang the test process inside a synchronous open that no vitest timeout can interrupt.
 * The FIFO cases therefore run in a child process with a hard timeout.
 */

const tsx = fileURLToPath(new URL("../../../../node_modules/.bin/tsx", import.meta.url));
const weightsIndex = new URL("./index.ts", import.meta.url).href;
const tokenizerIndex = new URL("../tokenizer/index.ts", import.meta.url).href;

const mkfifo = (path: string): void => {
  execFileSync("mkfifo", [path]);
};

interface Outcome {
  readonly what: string;
  readonly tag: string | null;
  readonly message: string;
  readonly ms: number;
}

/** Run each load in one child process (killed after `timeoutMs`); its outcomes, in order. */
const inChild = (cases: readonly { what: string; code: string }[], timeoutMs = 15_000): Outcome[] => {
  const script = `
    import { loadModelSync } from ${JSON.stringify(weightsIndex)};
    import { loadTokenizer } from ${JSON.stringify(tokenizerIndex)};
    import { Effect } from "effect";
    const out = [];
    for (const [what, f] of [${cases.map((c) => `[${JSON.stringify(c.what)}, async () => { ${c.code} }]`).join(",")}]) {
      const t0 = performance.now();
      try {
        await f();
        out.push({ what, tag: null, message: "loaded", ms: performance.now() - t0 });
      } catch (e) {
        out.push({ what, tag: e?._tag ?? "untyped", message: String(e?.message ?? e), ms: performance.now() - t0 });
      }
    }
    console.log(JSON.stringify(out));
  `;
  const t0 = Date.now();
  const r = spawnSync(tsx, ["--input-type=module", "-e", script], {
    encoding: "utf8",
    timeout: timeoutMs,
    cwd: fileURLToPath(new URL("../../", import.meta.url)), // packages/core: resolves effect
  });
  const took = Date.now() - t0;
  expect(r.signal, `the child hung (killed after ${took} ms): a FIFO was opened and waited on`).toBeNull();
  expect(r.status, r.stderr).toBe(0);
  const line = r.stdout.trim().split("\n").at(-1)!;
  return JSON.parse(line) as Outcome[];
};

describe("non-regular files: a typed error at once, never a hang", () => {
  it("FIFOs as model.safetensors, config.json, a shard, a shard index, a .bin, a .gguf and tokenizer files", () => {
    const { config, tensors } = syntheticGpt2();
    const hf = writeFolder(config, tensors);
    const dirs = {
      weights: tempDir(),
      config: tempDir(),
      shard: tempDir(),
      index: tempDir(),
      bare: tempDir(),
      tok: tempDir(),
    };
    // model.safetensors is a FIFO (config.json fine)
    copyFileSync(join(hf, "config.json"), join(dirs.weights, "config.json"));
    mkfifo(join(dirs.weights, "model.safetensors"));
    // config.json is a FIFO (weights fine)
    copyFileSync(join(hf, "model.safetensors"), join(dirs.config, "model.safetensors"));
    mkfifo(join(dirs.config, "config.json"));
    // a sharded checkpoint whose second shard is a FIFO
    copyFileSync(join(hf, "config.json"), join(dirs.shard, "config.json"));
    const names = [...tensors.keys()];
    writeFileSync(
      join(dirs.shard, "a.safetensors"),
      writeSafetensors(new Map(names.slice(0, 5).map((n) => [n, tensors.get(n)!]))),
    );
    mkfifo(join(dirs.shard, "b.safetensors"));
    writeFileSync(
      join(dirs.shard, "model.safetensors.index.json"),
      JSON.stringify({
        weight_map: Object.fromEntries(names.map((n, i) => [n, i < 5 ? "a.safetensors" : "b.safetensors"])),
      }),
    );
    // the shard index itself is a FIFO
    copyFileSync(join(hf, "config.json"), join(dirs.index, "config.json"));
    mkfifo(join(dirs.index, "model.safetensors.index.json"));
    // bare files
    mkfifo(join(dirs.bare, "model.bin"));
    mkfifo(join(dirs.bare, "model.gguf"));
    mkfifo(join(dirs.bare, "model.safetensors"));
    copyFileSync(join(hf, "config.json"), join(dirs.bare, "config.json"));
    // tokenizer files
    mkfifo(join(dirs.tok, "tokenizer.json"));
    mkfifo(join(dirs.tok, "tok512.bin"));
    mkfifo(join(dirs.tok, "vocab.json"));
    writeFileSync(join(dirs.tok, "merges.txt"), "#version: 0.2\n");

    const load = (p: string) => `loadModelSync(${JSON.stringify(p)});`;
    const tok = (p: string) =>
      `const r = await Effect.runPromise(Effect.either(loadTokenizer(${JSON.stringify(p)}))); if (r._tag === "Left") throw r.left;`;
    const cases = [
      { what: "model.safetensors", code: load(dirs.weights), file: join(dirs.weights, "model.safetensors") },
      { what: "config.json", code: load(dirs.config), file: join(dirs.config, "config.json") },
      { what: "a shard", code: load(dirs.shard), file: join(dirs.shard, "b.safetensors") },
      {
        what: "the shard index",
        code: load(join(dirs.index, "model.safetensors.index.json")),
        file: join(dirs.index, "model.safetensors.index.json"),
      },
      { what: ".bin", code: load(join(dirs.bare, "model.bin")), file: join(dirs.bare, "model.bin") },
      { what: ".gguf", code: load(join(dirs.bare, "model.gguf")), file: join(dirs.bare, "model.gguf") },
      {
        what: "a .safetensors file",
        code: load(join(dirs.bare, "model.safetensors")),
        file: join(dirs.bare, "model.safetensors"),
      },
      {
        what: "tokenizer.json",
        code: tok(join(dirs.tok, "tokenizer.json")),
        file: join(dirs.tok, "tokenizer.json"),
      },
      { what: "tokenizer .bin", code: tok(join(dirs.tok, "tok512.bin")), file: join(dirs.tok, "tok512.bin") },
      { what: "vocab.json", code: tok(join(dirs.tok, "vocab.json")), file: join(dirs.tok, "vocab.json") },
    ];
    const out = inChild(cases);
    expect(out.map((o) => o.what)).toEqual(cases.map((c) => c.what));
    out.forEach((o, i) => {
      const isTokenizer = i >= 7;
      expect(o.tag, `${o.what}: ${o.message}`).toBe(isTokenizer ? "TokenizerError" : "WeightFileError");
      expect(o.message, o.what).toContain(cases[i]!.file);
      expect(o.message, o.what).toContain("a regular file");
      expect(o.message, o.what).toContain("FIFO");
      expect(o.ms, `${o.what} took ${o.ms} ms`).toBeLessThan(1000);
    });
  });

  it("a directory or a character device where a file should be → WeightFileError naming it", () => {
    const dir = tempDir();
    const { config } = syntheticGpt2();
    writeFileSync(join(dir, "config.json"), JSON.stringify(config));
    mkdirSync(join(dir, "model.safetensors"));
    const fail = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e as { _tag: string; message: string };
      }
      throw new Error("expected a failure");
    };
    const e = fail(() => loadModelSync(dir));
    expect(e._tag).toBe("WeightFileError");
    expect(e.message).toContain(join(dir, "model.safetensors"));
    expect(e.message).toContain("expected a regular file, found a directory");
    const dev = fail(() => loadModelSync("/dev/null"));
    expect(dev._tag).toBe("WeightFileError");
    expect(dev.message).toContain("/dev/null: expected a regular file, found a character device");
    const link = join(tempDir(), "null.bin");
    symlinkSync("/dev/null", link);
    const d2 = fail(() => loadModelSync(link));
    expect(d2._tag).toBe("WeightFileError");
    expect(d2.message).toContain("found a character device");
  });

  it("symlinks to regular files load", () => {
    const { config, tensors } = syntheticGpt2();
    const real = writeFolder(config, tensors);
    const dir = tempDir();
    symlinkSync(join(real, "model.safetensors"), join(dir, "model.safetensors"));
    symlinkSync(join(real, "config.json"), join(dir, "config.json"));
    expect(loadModelSync(dir).weights.get("embed.W_E")!.data).toEqual(
      loadModelSync(real).weights.get("embed.W_E")!.data,
    );
    const { bytes } = syntheticLlama2c(true);
    const bin = join(tempDir(), "m.bin");
    writeFileSync(bin, bytes);
    const binLink = join(tempDir(), "link.bin");
    symlinkSync(bin, binLink);
    expect(loadModelSync(binLink).config.dModel).toBe(loadModelSync(bin).config.dModel);
  });
});
