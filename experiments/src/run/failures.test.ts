import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Effect, Either } from "effect";
import { afterAll, describe, expect, it } from "vitest";
import { loadExperiment } from "../spec/load.ts";
import { resolveResultsDir, runExperiment } from "./experiment.ts";
import type { RunManifest } from "./manifest.ts";

const dir = mkdtempSync(join(tmpdir(), "patchbay-failures-"));
const mounted: string[] = [];
afterAll(() => {
  for (const m of mounted) spawnSync("umount", [m]);
  rmSync(dir, { recursive: true, force: true });
});

const write = (name: string, lines: readonly string[]) => {
  const p = join(dir, name);
  writeFileSync(p, `${lines.join("\n")}\n`);
  return p;
};
const sweep = (name: string, extra: readonly string[] = [], evaluation = "{ spearmanSample: 0 }") =>
  write(`${name}.yaml`, [
    `name: ${name}`,
    "model: builtin:induction",
    "task: { n: 8 }",
    "method: { _tag: eap }",
    "selection: { _tag: top-n, n: 4 }",
    `evaluation: ${evaluation}`,
    "sweep: { grid: { task.seed: [0, 1, 2] } }",
    ...extra,
  ]);
const runTo = (file: string, results?: string) =>
  Effect.runPromise(
    Effect.either(
      Effect.flatMap(loadExperiment(file), (l) => runExperiment(l, results === undefined ? {} : { results })),
    ),
  );
const manifestOf = (results: string): RunManifest => {
  const [run] = readdirSync(join(results, "runs"));
  return JSON.parse(readFileSync(join(results, "runs", run!, "manifest.json"), "utf8")) as RunManifest;
};

describe("a run that fails says so in its manifest", () => {
  it("a cell's result cannot be written (a read-only cells folder): ResultsStoreError, manifest failed, no lock left", async () => {
    const results = join(dir, "ro-store");
    const cells = join(results, "cells");
    mkdirSync(cells, { recursive: true });
    const m = spawnSync("mount", ["-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", cells], { encoding: "utf8" });
    if (m.status === 0) mounted.push(cells);
    else {
      // no mount here: a file where the cells folder should be fails the same way (ENOTDIR)
      console.warn(
        `*** cannot mount a tmpfs (${m.stderr.trim()}): using a file in the cells folder's place ***`,
      );
      rmSync(cells, { recursive: true });
      writeFileSync(cells, "not a folder");
    }
    const r = await runTo(sweep("ro"), results);
    if (Either.isRight(r)) throw new Error("the run succeeded");
    expect(r.left._tag).toBe("ResultsStoreError");
    expect(r.left.message).toContain(m.status === 0 ? "EROFS" : "ENOTDIR");
    const manifest = manifestOf(results);
    expect(manifest.status).toBe("failed");
    expect(manifest.error).toMatch(/ResultsStoreError: .*(EROFS|ENOTDIR)/);
    expect(manifest.invocations.at(-1)!.finishedAt).not.toBeNull();
    const runDir = join(results, "runs", manifest.runId);
    expect(readdirSync(runDir)).toEqual(["manifest.json"]); // no lock, no temporary file
  });

  it("a cell that fails while computing: the manifest names the cell and the error", async () => {
    const results = join(dir, "bad-truth");
    const r = await runTo(
      sweep("bad-truth", ["outputs: { results: bad-truth }"], '{ spearmanSample: 0, truth: "nope" }'),
    );
    if (Either.isRight(r)) throw new Error("the run succeeded");
    expect(r.left._tag).toBe("InputError");
    const manifest = manifestOf(results);
    expect(manifest.status).toBe("failed");
    expect(manifest.error).toMatch(/^cell 1 \([0-9a-f]{64}\): InputError: evaluation\.truth/);
  });
});

describe("outputs.results from a file stays inside the file's folder or the current directory", () => {
  const check = (file: string, override?: string) =>
    Effect.runSync(
      Effect.either(Effect.flatMap(loadExperiment(file), (l) => resolveResultsDir(l, override))),
    );
  const base = ["model: builtin:induction", "task: { n: 8 }", "method: { _tag: eap }"];

  it("inside the file's folder: accepted", () => {
    const r = check(write("inside.yaml", [...base, "outputs: { results: out/store }"]));
    expect(r).toEqual(Either.right(join(dir, "out", "store")));
  });

  it("outside both (relative or absolute): an error naming outputs.results and --results; --results may point anywhere", () => {
    const outside = write("escape.yaml", [...base, "outputs: { results: ../../../home/user/.ssh }"]);
    const r = check(outside);
    if (Either.isRight(r)) throw new Error("accepted");
    expect(r.left._tag).toBe("ExperimentFileError");
    expect(r.left.field).toBe("outputs.results");
    expect(r.left.expected).toContain("pass --results DIR");
    expect(r.left.found).toBe(`"../../../home/user/.ssh" → ${resolve(dir, "../../../home/user/.ssh")}`);
    expect(Either.isLeft(check(write("abs.yaml", [...base, "outputs: { results: /etc/patchbay }"])))).toBe(
      true,
    );
    expect(check(outside, "/tmp/anywhere")).toEqual(Either.right("/tmp/anywhere"));
  });

  it("a symbolic link inside the folder that leads outside is outside", () => {
    const away = mkdtempSync(join(tmpdir(), "patchbay-away-"));
    symlinkSync(away, join(dir, "link"));
    const r = check(write("link.yaml", [...base, "outputs: { results: link/store }"]));
    rmSync(away, { recursive: true });
    if (Either.isRight(r)) throw new Error("accepted");
    expect(r.left.found).toContain("through a symbolic link");
  });

  it("the committed examples (../../out/experiments) are accepted from the repository root", () => {
    const repo = fileURLToPath(new URL("../../../", import.meta.url));
    expect(resolve(process.cwd())).toBe(resolve(repo));
    const examples = join(repo, "experiments", "examples");
    for (const f of readdirSync(examples).filter((x) => /\.(ya?ml|json)$/.test(x))) {
      const r = check(join(examples, f));
      expect(r, f).toEqual(Either.right(join(repo, "out", "experiments")));
    }
    expect(existsSync(join(dir, "escape.yaml"))).toBe(true);
  });
});
