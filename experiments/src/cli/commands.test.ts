import {
  type CommandSpec,
  commandHelp,
  EDGE_ABLATIONS,
  METRIC_KINDS,
  runCli,
} from "@patchbay/core/cli/table";
import { Method } from "@patchbay/circuits";
import { afterEach, describe, expect, it, vi } from "vitest";
import { tagsOf } from "../../../packages/core/src/testing/schema.ts";
import { CausalMethod } from "../kinds/causal/spec.ts";
import { ReadoutMethod } from "../kinds/readout/spec.ts";
import { EXPERIMENT_METHODS, patchbayCli, patchbayCommands } from "./commands.ts";

const cli = async (...argv: string[]) => {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => void out.push(a.join(" ")));
  vi.spyOn(console, "error").mockImplementation((...a: unknown[]) => void err.push(a.join(" ")));
  const status = await runCli(patchbayCommands, argv, patchbayCli);
  vi.restoreAllMocks();
  return { status, stdout: out.join("\n"), stderr: err.join("\n") };
};
afterEach(() => vi.restoreAllMocks());

describe("the full CLI's table", () => {
  it("the methods an experiment file takes, per kind, are each kind's Schema tags", () => {
    expect(EXPERIMENT_METHODS.circuit).toEqual(tagsOf(Method.ast));
    expect(EXPERIMENT_METHODS.causal).toEqual(tagsOf(CausalMethod.ast));
    expect(EXPERIMENT_METHODS.readout).toEqual(tagsOf(ReadoutMethod.ast));
  });

  it("validate --help and run --help list every method of every kind, every metric and ablation", () => {
    for (const name of ["validate", "run"] as const) {
      const help = commandHelp(patchbayCommands[name]);
      for (const tags of Object.values(EXPERIMENT_METHODS)) expect(help).toContain(tags.join(", "));
      expect(help).toContain(METRIC_KINDS.join(", "));
      expect(help).toContain(EDGE_ABLATIONS.join(", "));
    }
  });

  it("every command takes --help / -h: its usage on stdout, exit 0, even with flags missing or invalid", async () => {
    for (const [name, spec] of Object.entries(patchbayCommands) as [string, CommandSpec][]) {
      for (const h of ["--help", "-h"]) {
        const r = await cli(name, "--no-such-flag", h, "--method", "magic");
        expect(r.status, `${name} ${h}: ${r.stderr}`).toBe(0);
        expect(r.stdout).toBe(commandHelp(spec));
        expect(r.stderr).toBe("");
      }
    }
  });
});
