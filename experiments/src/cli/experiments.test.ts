import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runCli, withPositional } from "@patchbay/core/cli/table";
import { describe, expect, it, vi } from "vitest";
import { experimentCommands, patchbayCli, patchbayCommands } from "./commands.ts";
import { progressReporter } from "./experiments.ts";

const repo = fileURLToPath(new URL("../../../", import.meta.url));
const main = fileURLToPath(new URL("./main.ts", import.meta.url));
const patchbay = (...args: string[]) =>
  spawnSync(process.execPath, ["--import", "tsx", main, ...args], { cwd: repo, encoding: "utf8" });
const dir = mkdtempSync(join(tmpdir(), "patchbay-cli-exp-"));
const good = join(dir, "good.yaml");
writeFileSync(
  good,
  [
    "name: cli",
    "model: builtin:induction",
    "task: { n: 8, options: { corrupt: first } }",
    "method: { _tag: acdc, tau: 0.5 }",
    "outputs: { results: store }",
    "sweep: { grid: { task.seed: [0, 1] } }",
    "",
  ].join("\n"),
);

/** In-process: the CLI's command table over core's runCli, with console output captured. */
const inProcess = async (...argv: string[]) => {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => void out.push(a.join(" ")));
  const error = vi
    .spyOn(console, "error")
    .mockImplementation((...a: unknown[]) => void err.push(a.join(" ")));
  try {
    const status = await runCli(experimentCommands, argv, patchbayCli);
    return { status, stdout: out.join("\n"), stderr: err.join("\n") };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
};

describe("patchbay validate / run / ls", () => {
  it("validate prints the expanded cells (exit 0) or the typed error naming file and field (exit 1)", async () => {
    const ok = await inProcess("validate", good);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toContain("valid; 2 cells");
    expect(ok.stdout).toMatch(
      /cell 2\/2 [0-9a-f]{12} {2}acdc\(tau=0\.5,order=normal,seed=0,absolute=false\)/,
    );
    expect(ok.stdout).toContain("task.seed=1");
    const json = await inProcess("validate", good, "--json", "--ids");
    expect(json.status, json.stderr).toBe(0);
    const cells = JSON.parse(json.stdout);
    expect(cells).toHaveLength(2);
    expect(cells[0].cellId).toMatch(/^[0-9a-f]{64}$/);
    expect(cells[1].spec.task.seed).toBe(1);

    const bad = join(dir, "bad.yaml");
    writeFileSync(bad, "model: builtin:induction\ntask: { n: 8 }\nmethod: { _tag: acdc, tau: [1] }\n");
    const r = await inProcess("validate", bad);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("ExperimentFileError: ");
    expect(r.stderr).toContain("bad.yaml");
    expect(r.stderr).toContain("method.tau");
    expect(r.stderr).toContain("expected number");
    expect((await inProcess("validate")).status).toBe(2); // no FILE: usage error
    const missing = await inProcess("report", "no-such-run");
    expect(missing.status).toBe(1); // a run that does not exist: an input error naming it
    expect(missing.stderr).toContain("no-such-run");
  });

  it("validate prints the ids run uses (the manifest's); --schema-only checks the file alone", async () => {
    const file = join(dir, "ids.yaml");
    writeFileSync(
      file,
      "name: ids\nmodel: builtin:induction\ntask: { n: 4 }\nmethod: { _tag: eap }\nevaluation: { spearmanSample: 0 }\noutputs: { results: store-ids }\nseeds: [0, 1]\nsweep: { grid: { task.seed: [3, 4] } }\n",
    );
    const v = await inProcess("validate", file, "--json");
    expect(v.status, v.stderr).toBe(0);
    const ids = (JSON.parse(v.stdout) as { cellId: string }[]).map((c) => c.cellId);
    expect(ids).toHaveLength(4);
    const r = await inProcess("run", file, "--quiet");
    expect(r.status, r.stderr).toBe(0);
    const [run] = readdirSync(join(dir, "store-ids", "runs"));
    const manifest = JSON.parse(readFileSync(join(dir, "store-ids", "runs", run!, "manifest.json"), "utf8"));
    expect(manifest.cells.map((c: { cellId: string }) => c.cellId)).toEqual(ids);
    const text = await inProcess("validate", file);
    for (const id of ids) expect(text.stdout).toContain(` ${id.slice(0, 12)} `);
    // a missing model is not "valid"; --schema-only does not look
    const missing = join(dir, "missing-model.yaml");
    writeFileSync(missing, "model: ./nowhere\ntask: { n: 4 }\nmethod: { _tag: eap }\n");
    const m = await inProcess("validate", missing);
    expect(m.status).toBe(1);
    expect(m.stderr).toContain("ModelNotFoundError");
    const quick = await inProcess("validate", missing, "--schema-only");
    expect(quick.status, quick.stderr).toBe(0);
    expect(quick.stdout).toContain("schema only");
  });

  it("run prints plain progress lines off a TTY and a summary table; ls shows the run; a re-run skips", async () => {
    const r = patchbay("run", good);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^cell 1\/2 [0-9a-f]{12} done in \d+\.\d s$/m);
    expect(r.stderr).toMatch(/^cell 2\/2 [0-9a-f]{12} done in \d+\.\d s$/m);
    expect(r.stdout).toMatch(
      /cell\s+id\s+task\.seed\s+method\s+edges\s+faithfulness\s+precision\s+recall\s+AUC\s+time/,
    );
    expect(r.stdout).toMatch(
      /1\s+[0-9a-f]{12}\s+0\s+acdc\(τ=0\.5, normal\)\s+4\s+1\.000\s+1\.000\s+1\.000\s+1\.000/,
    );
    const ls = await inProcess("ls", join(dir, "store"));
    expect(ls.status, ls.stderr).toBe(0);
    expect(ls.stdout).toMatch(/cli-[0-9a-f]{12}\s+cli\s+done\s+2\/2/);
    const again = patchbay("run", good);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).toContain("cell 2/2");
    expect(again.stderr).toContain("skipped");
    // --json: the summary on stdout, and stderr kept for a failure (no progress lines)
    const json = patchbay("run", good, "--json");
    expect(json.status, json.stderr).toBe(0);
    expect(json.stderr).toBe("");
    expect(JSON.parse(json.stdout).rows).toHaveLength(2);
  });

  it("readout runs: validate names each cell's method, model and data; run prints each method's headline and key figures", async () => {
    const file = join(dir, "readout.yaml");
    writeFileSync(
      file,
      [
        "name: cli-readout",
        "kind: readout",
        "model: builtin:induction",
        "data: { task: { n: 4 } }",
        "method: { _tag: dla }",
        "outputs: { results: store-readout }",
        "sweep: { zip: { method: [{ _tag: dla }, { _tag: logit-lens, topK: 2 }] } }",
        "",
      ].join("\n"),
    );
    const v = await inProcess("validate", file);
    expect(v.status, v.stderr).toBe(0);
    expect(v.stdout).toMatch(
      /cell 1\/2 [0-9a-f]{12} {2}dla\(heads=true,mlps=true,neurons=false\) builtin:induction \[builtin:induction n=4 seed=0\]/,
    );
    expect(v.stdout).toMatch(/cell 2\/2 [0-9a-f]{12} {2}logit-lens\(topK=2,tablePrompt=0\)/);
    const r = await inProcess("run", file);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/cell\s+id\s+method\s+method\s+headline\s+value\s+key figures\s+time/); // the swept field, then the method
    expect(r.stdout).toMatch(
      /1\s+[0-9a-f]{12}\s+\{"_tag":"dla"\}\s+dla\s+logit difference\s+10\.000\s+topComponent=a1\.h2/,
    );
    expect(r.stdout).toMatch(
      /2\s+[0-9a-f]{12}\s+\{.*\}\s+logit-lens\s+mean KL \(logit lens\)\s+\d\.\d{3}\s+sites=3/,
    );
  });

  it("a cell's own package error is printed under its own tag (exit 1): CausalError, not InputError or an unexpected failure", async () => {
    const file = join(dir, "causal-error.yaml");
    writeFileSync(
      file,
      [
        "kind: causal",
        "task: { builtin: induction, n: 8 }",
        "method: { _tag: das, variable: Q, site: blocks.1.resid_pre, positions: [{ index: 99 }], steps: 1 }",
        "outputs: { results: store-causal-error }",
        "",
      ].join("\n"),
    );
    const r = await inProcess("run", file);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /^patchbay run: CausalError: .*: method\.positions\[0\] in example 0 \(base\): expected a position in \[0, \d+\)/,
    );
    expect(r.stderr).not.toContain("unexpected failure");
  });

  it("on a TTY the progress bar with ETA is redrawn in place", () => {
    let out = "";
    const write = (s: string) => {
      out += s;
      return true;
    };
    const stream = { isTTY: true, write } as unknown as NodeJS.WriteStream;
    const report = progressReporter(stream);
    report({ _tag: "planned", runId: "r", total: 4, done: 0 });
    report({ _tag: "cell-start", index: 0, total: 4, cellId: "a".repeat(64) });
    report({
      _tag: "cell-done",
      index: 0,
      position: 1,
      total: 4,
      cellId: "a".repeat(64),
      seconds: 2,
      skipped: false,
    });
    expect(out).toContain("\r\x1b[2K");
    expect(out).toContain("1/4");
    expect(out).toContain("ETA 6.0 s");
    expect(out).not.toContain("\n");
  });

  it("positionals become flags before the core parser sees them", () => {
    const withPositionals = ([cmd, ...rest]: string[]) => [
      cmd!,
      ...withPositional(rest, patchbayCommands[cmd as keyof typeof patchbayCommands]),
    ];
    expect(withPositionals(["run", "x.yaml", "--json"])).toEqual(["run", "--file", "x.yaml", "--json"]);
    expect(withPositionals(["run", "--results", "out", "x.yaml"])).toEqual([
      "run",
      "--results",
      "out",
      "--file",
      "x.yaml",
    ]);
    expect(withPositionals(["ls"])).toEqual(["ls"]);
    // every flag that takes a value, not just a few
    expect(withPositionals(["run", "--workers", "2", "--max-cells", "9", "x.yaml"])).toEqual([
      "run",
      "--workers",
      "2",
      "--max-cells",
      "9",
      "--file",
      "x.yaml",
    ]);
    expect(withPositionals(["circuit", "--model", "m"])).toEqual(["circuit", "--model", "m"]);
  });
});
