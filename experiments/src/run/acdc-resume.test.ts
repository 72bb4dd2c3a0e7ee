import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError } from "@patchbay/core/errors";
import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import { decodeExperiment, expandCells } from "../spec/load.ts";

import type { CellResult } from "../kinds/index.ts";
import { cellIdentity, runCellToStore } from "./cell.ts";

/**
 * A sweep cell running ACDC keeps its checkpoint in `<results>/checkpoints/<cellId>/acdc.json`:
 * killed (SIGKILL) mid-ACDC, the rerun continues from the last finished receiver and stores the
 * same circuit as an uninterrupted run; the checkpoint folder is gone once the result is stored.
 */
const repo = fileURLToPath(new URL("../../../", import.meta.url));
const main = fileURLToPath(new URL("../cli/main.ts", import.meta.url));

const yaml = (results: string) =>
  [
    "name: acdc-resume",
    "model: builtin:induction",
    "task: { n: 48 }",
    "method: { _tag: acdc, tau: 0.0005 }",
    "evaluation: { spearmanSample: 0, truth: false, curve: false }",
    `outputs: { results: ${results} }`,
    "",
  ].join("\n");

const cellOf = (results: string) => {
  const [f] = readdirSync(join(results, "cells")).filter((x) => x.endsWith(".json"));
  return JSON.parse(readFileSync(join(results, "cells", f!), "utf8")) as CellResult & {
    edges: unknown;
    metric: unknown;
  };
};

describe("a killed ACDC sweep cell resumes", () => {
  it("SIGKILL after some receivers, rerun: continues from the checkpoint, same circuit as an uninterrupted run", async () => {
    const dir = mkdtempSync(join(tmpdir(), "patchbay-acdc-resume-"));
    writeFileSync(join(dir, "whole.yaml"), yaml("whole"));
    writeFileSync(join(dir, "killed.yaml"), yaml("killed"));
    const whole = spawnSync(process.execPath, ["--import", "tsx", main, "run", join(dir, "whole.yaml")], {
      cwd: repo,
      encoding: "utf8",
    });
    expect(whole.status, whole.stderr).toBe(0);
    expect(existsSync(join(dir, "whole", "checkpoints", cellOf(join(dir, "whole")).cellId))).toBe(false);

    const child = spawn(process.execPath, ["--import", "tsx", main, "run", join(dir, "killed.yaml")], {
      cwd: repo,
      stdio: ["ignore", "ignore", "pipe"],
    });
    let seen = -1;
    const ckptRoot = join(dir, "killed", "checkpoints");
    const poll = setInterval(() => {
      if (!existsSync(ckptRoot) || seen >= 0) return;
      for (const id of readdirSync(ckptRoot)) {
        try {
          const c = JSON.parse(readFileSync(join(ckptRoot, id, "acdc.json"), "utf8")) as {
            receiversDone: number;
          };
          if (c.receiversDone >= 2) {
            seen = c.receiversDone;
            child.kill("SIGKILL");
          }
        } catch {} // not written yet
      }
    }, 2);
    const signal = await new Promise<string | null>((resolve) => child.on("exit", (_c, s) => resolve(s)));
    clearInterval(poll);
    expect(signal).toBe("SIGKILL");
    expect(seen).toBeGreaterThanOrEqual(2);
    // killed mid-ACDC: no result stored, a checkpoint part-way through
    const cells = join(dir, "killed", "cells");
    expect(existsSync(cells) ? readdirSync(cells).filter((f) => f.endsWith(".json")) : []).toEqual([]);
    const [id] = readdirSync(ckptRoot);
    const left = JSON.parse(readFileSync(join(ckptRoot, id!, "acdc.json"), "utf8")) as {
      receiversDone: number;
      runs: number;
    };
    expect(left.receiversDone).toBeGreaterThanOrEqual(2);
    expect(left.runs).toBeGreaterThan(0);

    const again = spawnSync(process.execPath, ["--import", "tsx", main, "run", join(dir, "killed.yaml")], {
      cwd: repo,
      encoding: "utf8",
    });
    expect(again.status, again.stderr).toBe(0);
    const a = cellOf(join(dir, "whole"));
    const b = cellOf(join(dir, "killed"));
    expect(b.cellId).toBe(a.cellId);
    expect(JSON.stringify(b.edges)).toBe(JSON.stringify(a.edges));
    expect(JSON.stringify(b.metric)).toBe(JSON.stringify(a.metric));
    expect(existsSync(join(ckptRoot, id!))).toBe(false); // removed once the result is stored
  }, 180_000);

  it("the cell reads its checkpoint from the store: a foreign one there is a ConfigError naming the file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "patchbay-acdc-ckpt-"));
    const raw = {
      name: "x",
      model: "builtin:induction",
      task: { n: 4 },
      method: { _tag: "acdc", tau: 0.1 },
      evaluation: { spearmanSample: 0, truth: false, curve: false },
    };
    const loaded = await Effect.runPromise(decodeExperiment(raw, join(dir, "x.yaml")));
    const [cell] = await Effect.runPromise(expandCells(loaded));
    const input = { spec: cell!.spec, baseDir: loaded.baseDir };
    const { cellId } = await Effect.runPromise(cellIdentity(input));
    const results = join(dir, "results");
    const file = join(results, "checkpoints", cellId, "acdc.json");
    mkdirSync(join(results, "checkpoints", cellId), { recursive: true });
    writeFileSync(file, "{ not json");
    const e = await Effect.runPromise(Effect.flip(runCellToStore({ ...input, results, cellId })));
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).file).toBe(file);
  }, 60_000);
});
