import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect } from "effect";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  commitOf,
  type FakeHub,
  folderFiles,
  startFakeHub,
} from "../../../packages/core/src/hub/test-support.ts";
import { testdataPath } from "../../../packages/core/src/testing/testdata.ts";
import type { CellResult } from "../kinds/index.ts";
import { loadExperiment } from "../spec/load.ts";
import { runExperiment } from "./experiment.ts";

/** An experiment file naming a Hub model: the result's model block names the exact commit that ran. */
const C = commitOf("tiny-gpt2 on the hub");
let hub: FakeHub;
beforeAll(async () => {
  const files = folderFiles(testdataPath("fixtures", "tiny-gpt2"));
  hub = await startFakeHub([{ repo: "patchbay-test/tiny-gpt2", refs: { main: C }, commits: { [C]: files } }]);
  vi.stubEnv("HF_ENDPOINT", hub.endpoint);
  vi.stubEnv("HF_HUB_CACHE", mkdtempSync(join(tmpdir(), "hf-exp-")));
  vi.stubEnv("HF_HUB_OFFLINE", "");
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await hub.close();
});

describe("experiment files with model: hf:owner/name", () => {
  it("downloads the model, runs the cell and records the commit in the result", async () => {
    const dir = mkdtempSync(join(tmpdir(), "patchbay-hub-exp-"));
    const file = join(dir, "hub.yaml");
    writeFileSync(
      file,
      [
        "name: hub",
        "model: hf:patchbay-test/tiny-gpt2",
        "task: { builtin: induction, n: 4, options: { corrupt: first } }",
        "method: { _tag: eap }",
        "selection: { _tag: top-n, n: 3 }",
        "evaluation: { spearmanSample: 0 }",
        "outputs: { results: store }",
        "",
      ].join("\n"),
    );
    const s = await Effect.runPromise(runExperiment(await Effect.runPromise(loadExperiment(file))));
    const result = s.cells[0]!.result as CellResult;
    expect(result.model.name).toBeDefined();
    expect(result.model.revision).toEqual({ repo: "patchbay-test/tiny-gpt2", requested: "main", commit: C });
    expect(result.edges.length).toBeGreaterThan(0);
    // the stored result names the commit too
    const stored = readdirSync(join(dir, "store"), { recursive: true, encoding: "utf8" })
      .filter((f) => f.endsWith(".json"))
      .map((f) => readFileSync(join(dir, "store", f), "utf8"));
    expect(stored.some((text) => text.includes(`"commit":"${C}"`) || text.includes(`"commit": "${C}"`))).toBe(
      true,
    );
  }, 120_000);
});
