import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MODEL_CORPUS } from "./corpus-models.fixture.ts";
import { CORPUS as FILE_CORPUS, type CorpusCase, mounted } from "./corpus.fixture.ts";

const CORPUS: readonly CorpusCase[] = [...FILE_CORPUS, ...MODEL_CORPUS];
/** Every case, and each case with a `json` expectation again with --json (keyed `<name> --json`). */
const RUNS: readonly (readonly [string, CorpusCase])[] = [
  ...CORPUS.map((c) => [c.name, c] as const),
  ...CORPUS.filter((c) => c.json !== undefined).map(
    (c) => [`${c.name} --json`, { ...c, args: [...c.args, "--json"] }] as const,
  ),
];

/**
 * Runs every case of the CLI corpus (corpus.fixture.ts) through the real CLI in a child process,
 * two at a time, and checks: the exit code, what stderr names, no stack trace, no "unexpected
 * failure", no hang.
 */

const main = fileURLToPath(new URL("./main.ts", import.meta.url));
const repo = fileURLToPath(new URL("../../../", import.meta.url));
/** A hang is a failure; a child takes a few seconds to start on a loaded 2-core machine. */
const TIMEOUT_MS = 60_000;
const CONCURRENCY = 2;

interface Outcome {
  readonly status: number | null;
  readonly stderr: string;
  readonly ms: number;
  readonly skipped?: string;
}

const root = mkdtempSync(join(tmpdir(), "patchbay-corpus-"));
const outcomes = new Map<string, Outcome>();

const runCase = (c: CorpusCase, i: number): Promise<Outcome> => {
  const dir = join(root, `case-${i}`);
  mkdirSync(dir);
  for (const [name, content] of Object.entries(c.files ?? {})) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  const skipped = c.setup?.(dir);
  if (skipped !== undefined) return Promise.resolve({ status: null, stderr: "", ms: 0, skipped });
  const args = c.args.map((a) => a.replaceAll("{dir}", dir));
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", main, ...args], {
      cwd: repo,
      stdio: ["ignore", "ignore", "pipe"],
      timeout: TIMEOUT_MS,
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.on("close", (status) => resolve({ status, stderr, ms: performance.now() - t0 }));
  });
};

beforeAll(async () => {
  let next = 0;
  const worker = async () => {
    while (next < RUNS.length) {
      const i = next++;
      const [key, c] = RUNS[i]!;
      outcomes.set(key, await runCase(c, i));
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}, 20 * 60_000);

afterAll(() => {
  for (const m of mounted) spawnSync("umount", [m]);
  rmSync(root, { recursive: true, force: true });
});

describe("the CLI corpus: every malformed input is a typed error naming what to fix", () => {
  it("case names are distinct", () => {
    expect(new Set(CORPUS.map((c) => c.name)).size).toBe(CORPUS.length);
  });

  for (const c of CORPUS)
    it(`${c.name} → exit ${c.exit}`, () => {
      const o = outcomes.get(c.name)!;
      if (o.skipped !== undefined) {
        console.warn(`*** corpus case "${c.name}" SKIPPED: ${o.skipped} ***`);
        return;
      }
      expect(o.status, `${o.stderr}\n(after ${Math.round(o.ms)} ms)`).toBe(c.exit);
      for (const s of c.says)
        if (typeof s === "string") expect(o.stderr).toContain(s);
        else expect(o.stderr).toMatch(s);
      expect(o.stderr).not.toMatch(/\n\s+at /); // no stack trace
      expect(o.stderr).not.toContain("unexpected failure");
      expect(o.ms).toBeLessThan(TIMEOUT_MS / 2);
    });
});

describe("the CLI corpus with --json: stderr is exactly one {error: {tag, message, file?, field?}}", () => {
  for (const c of CORPUS.filter((c) => c.json !== undefined))
    it(`${c.name} --json → ${c.json!.tag}, exit ${c.exit}`, () => {
      const o = outcomes.get(`${c.name} --json`)!;
      if (o.skipped !== undefined) return;
      expect(o.status, o.stderr).toBe(c.exit);
      const lines = o.stderr.trim().split("\n");
      expect(lines, o.stderr).toHaveLength(1);
      const j = JSON.parse(lines[0]!) as { error: Record<string, string> };
      expect(Object.keys(j)).toEqual(["error"]);
      const keys = Object.keys(j.error);
      expect(keys.slice(0, 2)).toEqual(["tag", "message"]);
      expect(keys.every((k) => ["tag", "message", "file", "field"].includes(k))).toBe(true);
      const want = c.json!;
      expect(j.error.tag).toBe(want.tag);
      expect(j.error.message).toMatch(/\S/);
      if (want.file !== undefined)
        if (typeof want.file === "string") expect(j.error.file).toContain(want.file);
        else expect(j.error.file).toMatch(want.file);
      if (want.field !== undefined) expect(j.error.field).toBe(want.field);
    });
});
