import { formatTaskFile, taskFor } from "@patchbay/zoo";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { testdataPath } from "../../../packages/core/src/testing/testdata.ts";

const main = fileURLToPath(new URL("./main.ts", import.meta.url));
const tsx = fileURLToPath(new URL("../../../node_modules/.bin/tsx", import.meta.url));
const patchbay = (...args: string[]) => spawnSync(tsx, [main, ...args], { encoding: "utf8" });

describe("patchbay circuit / demo (the full CLI)", () => {
  it("circuit: ACDC on builtin:induction finds the ground truth and writes MIB JSON, DOT and SVG", () => {
    const out = mkdtempSync(join(tmpdir(), "patchbay-circuit-"));
    const r = patchbay(
      "circuit",
      "--model",
      "builtin:induction",
      "--method",
      "acdc",
      "--tau",
      "0.5",
      "--n",
      "16",
      "--json",
      "--out",
      out,
    );
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.truth.recall).toBe(1);
    expect(j.truth.precision).toBe(1);
    expect(j.edges).toContain("a0.h1->a1.h2<k>");
    const mib = JSON.parse(readFileSync(join(out, "circuit.json"), "utf8"));
    expect(mib.edges["a1.h2->logits"].in_graph).toBe(true);
    expect(mib.edges["a0.h0->a1.h0<q>"].in_graph).toBe(false);
    expect(readFileSync(join(out, "circuit.svg"), "utf8")).toContain("a1.h2");
    expect(readFileSync(join(out, "circuit.dot"), "utf8")).toMatch(/^digraph/);
  });

  it("circuit: bad flags are usage errors (exit 2), a missing task for a path model is an input error (exit 1)", () => {
    const bad = patchbay("circuit", "--model", "builtin:induction", "--method", "magic");
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("--method");
    const fixture = testdataPath("fixtures", "tiny-gpt2");
    const noTask = patchbay("circuit", "--model", fixture);
    expect(noTask.status).toBe(1);
    expect(noTask.stderr).toContain("--task");
  });

  it("circuit --task: a file without wrong runs with --metric logprob, and is a TaskFileError naming wrong with logit-diff", () => {
    const dir = mkdtempSync(join(tmpdir(), "patchbay-circuit-task-"));
    const { wrong: _, ...task } = taskFor("induction", { seed: 0, n: 8 });
    const file = join(dir, "no-wrong.jsonl");
    writeFileSync(file, formatTaskFile(task));
    const args = [
      "circuit",
      "--model",
      "builtin:induction",
      "--task",
      file,
      "--method",
      "eap",
      "--top",
      "4",
      "--json",
    ];
    const ok = patchbay(...args, "--metric", "logprob");
    expect(ok.status, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).edges).toHaveLength(4);
    const bad = patchbay(...args, "--metric", "logit-diff");
    expect(bad.status).toBe(1);
    // --json: the failure is one JSON object on stderr, naming the file (and line) and the field
    const { error } = JSON.parse(bad.stderr);
    expect(error).toMatchObject({ tag: "TaskFileError", file: `${file}:1`, field: "wrong" });
    expect(error.message).toContain(`${file}:1: wrong: expected wrong (text) or wrong_ids`);
    expect(error.message).toContain("the logit-diff metric reads the competing token, found neither");
  });

  it("run then report: the run's HTML page holds the circuit's SVG", () => {
    const results = mkdtempSync(join(tmpdir(), "patchbay-report-"));
    const example = fileURLToPath(new URL("../../examples/acdc.yaml", import.meta.url));
    const r = patchbay("run", example, "--results", results);
    expect(r.status, r.stderr).toBe(0);
    const run = readdirSync(join(results, "runs"))[0]!;
    const rep = patchbay("report", join(results, "runs", run));
    expect(rep.status, rep.stderr).toBe(0);
    const html = readFileSync(join(results, "runs", run, "report.html"), "utf8");
    expect(html).toContain("<svg");
    expect(html).toContain("a1.h2");
  });

  it("demo: every method against the ground truth", () => {
    const r = patchbay("demo", "--n", "8");
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("ROC AUC");
    expect(r.stdout).toMatch(/acdc\(τ=0\.5, normal\)\s+4\s+4\s+1\.000\s+1\.000\s+1\.000/);
    // the causal half: Q is found at the query position until layer 1, DAS beats its controls
    expect(r.stdout).toMatch(/best blocks\.[01]\.resid_pre @ 7/);
    const das = /IIA test ([\d.]+); controls: random-init model ([\d.]+), random rotation ([\d.]+)/.exec(
      r.stdout,
    );
    expect(das).not.toBeNull();
    expect(Number(das![1])).toBeGreaterThanOrEqual(0.95);
    expect(Number(das![2])).toBeLessThan(0.4);
    expect(Number(das![3])).toBeLessThan(0.2);
  });
});
