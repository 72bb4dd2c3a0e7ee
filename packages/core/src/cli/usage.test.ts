import { afterEach, describe, expect, it, vi } from "vitest";
import { MetricKind } from "../engine/spec.ts";
import { EdgeAblation } from "../patching/sources.ts";
import { choice, threadsFlag, UsageError } from "./args.ts";
import { coreCommands } from "./core-commands.ts";
import { errorJson } from "./error-json.ts";
import { InputError, ModelNotFoundError, TaskFileError, WeightFileError } from "../errors/index.ts";
import {
  BOS_CHOICES,
  EDGE_ABLATIONS,
  EXECUTION_PROVIDERS,
  METRIC_KINDS,
  runCli,
  type CommandSpec,
} from "./table.ts";
import { asksHelp, asksJson, cliUsage, commandHelp, notOneOf, withPositional } from "./usage.ts";

/** runCli in this process, console captured. */
const cli = async (commands: Record<string, CommandSpec>, ...argv: string[]) => {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => void out.push(a.join(" ")));
  vi.spyOn(console, "error").mockImplementation((...a: unknown[]) => void err.push(a.join(" ")));
  const status = await runCli(commands, argv, { version: "9.8.7" });
  vi.restoreAllMocks();
  return { status, stdout: out.join("\n"), stderr: err.join("\n") };
};
afterEach(() => vi.restoreAllMocks());

describe("the CLI's choice lists are the code's own", () => {
  it("the lists the usage prints are the lists the Schemas decode", () => {
    expect(EDGE_ABLATIONS).toEqual(EdgeAblation.literals);
    expect(METRIC_KINDS).toEqual(MetricKind.literals);
    expect(EXECUTION_PROVIDERS).toEqual(["cpu", "cuda"]);
  });

  it("every command's help lists every value of every choice flag, from the table", () => {
    for (const [name, spec] of Object.entries(coreCommands) as [string, CommandSpec][]) {
      const help = commandHelp(spec);
      expect(help.startsWith(`usage: patchbay ${name}`)).toBe(true);
      for (const [flag, c] of Object.entries(spec.choices ?? {})) {
        expect(help).toMatch(new RegExp(`^  --${flag} +${c.values.join(", ")}`, "m"));
      }
    }
    expect(commandHelp(coreCommands.logits)).toContain(`--ep  ${EXECUTION_PROVIDERS.join(", ")}`);
    expect(coreCommands.tokenize.usage).toContain(`--bos ${BOS_CHOICES.join("|")}`);
    const all = cliUsage(coreCommands);
    for (const name of Object.keys(coreCommands)) expect(all).toContain(`  patchbay ${name}`);
  });
});

describe("an invalid choice names the flag, what was given and every allowed value", () => {
  it("one message for every list", () => {
    expect(notOneOf("--ablation", "foo", EDGE_ABLATIONS)).toBe(
      '--ablation: "foo" is not one of resample, zero, mean, mean-positional',
    );
    expect(() => choice({ metric: "nope" }, "metric", METRIC_KINDS, "logit-diff")).toThrow(
      new UsageError({ message: notOneOf("--metric", "nope", METRIC_KINDS) }),
    );
    expect(choice({}, "metric", METRIC_KINDS, "logit-diff")).toBe("logit-diff");
    expect(choice({ metric: "kl" }, "metric", METRIC_KINDS, "logit-diff")).toBe("kl");
  });

  it("through runCli: exit 2, before the command's implementation is loaded", async () => {
    let loaded = false;
    const table = {
      pick: {
        flags: { kind: "string", json: "boolean" },
        choices: { kind: { values: ["a", "b"] } },
        usage: "pick --kind a|b",
        load: async () => {
          loaded = true;
          throw new Error("never loaded");
        },
      },
    } satisfies Record<string, CommandSpec>;
    const text = await cli(table, "pick", "--kind", "c");
    expect(text.status).toBe(2);
    expect(text.stderr).toContain('patchbay pick: --kind: "c" is not one of a, b');
    const json = await cli(table, "pick", "--kind", "c", "--json");
    expect(json.status).toBe(2);
    expect(JSON.parse(json.stderr)).toEqual({
      error: { tag: "UsageError", message: '--kind: "c" is not one of a, b' },
    });
    expect(loaded).toBe(false);
  });
});

describe("help, version and the command line read before parsing", () => {
  it("--help / -h print usage on stdout with exit 0, whatever else is on the line", async () => {
    for (const argv of [["--help"], ["-h"]]) {
      const r = await cli(coreCommands, ...argv);
      expect(r.status).toBe(0);
      expect(r.stdout).toContain("patchbay logits --model M --ids 1,2,3");
    }
    for (const name of Object.keys(coreCommands)) {
      // a missing --model, an unknown flag and a bad choice do not stop help
      const r = await cli(coreCommands, name, "--bogus", "--ep", "tpu", "-h");
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout.startsWith(`usage: patchbay ${name}`)).toBe(true);
      expect(r.stderr).toBe("");
    }
    expect((await cli(coreCommands, "--version")).stdout).toBe("9.8.7");
    const none = await cli(coreCommands);
    expect(none.status).toBe(2);
    expect(none.stderr).toContain("usage: patchbay <command>");
    const unknown = await cli(coreCommands, "bogus", "--json");
    expect(unknown.status).toBe(2);
    expect(JSON.parse(unknown.stderr)).toEqual({
      error: { tag: "UsageError", message: 'unknown command "bogus"' },
    });
  });

  it("a string flag's value is never read as --help, --json or the positional", () => {
    const flags = { text: "string", json: "boolean" } as const;
    expect(asksHelp(["--text", "-h"], flags)).toBe(false);
    expect(asksHelp(["--text=x", "-h"], flags)).toBe(true);
    expect(asksJson(["--text", "--json"], flags)).toBe(false);
    expect(asksJson(["--text", "x", "--json"], flags)).toBe(true);
    expect(asksHelp(["--", "--help"], flags)).toBe(false);
    const spec: CommandSpec = {
      flags: { file: "string", results: "string" },
      positional: "file",
      usage: "",
      load: async () => () => undefined as never,
    };
    expect(withPositional(["--results", "out", "x.yaml"], spec)).toEqual([
      "--results",
      "out",
      "--file",
      "x.yaml",
    ]);
    expect(withPositional(["x.yaml", "--results", "out"], spec)).toEqual([
      "--file",
      "x.yaml",
      "--results",
      "out",
    ]);
  });
});

describe("--json failures: one object, {error: {tag, message, file?, field?}}", () => {
  it("maps each error class's own names for where the problem is", () => {
    const input = new InputError({ field: "--ids[1]", expected: "an integer", found: '"x"' });
    expect(errorJson(input)).toEqual({
      error: { tag: "InputError", message: input.message, field: "--ids[1]" },
    });
    const missing = new ModelNotFoundError({ path: "/nope", expected: "a model" });
    expect(errorJson(missing).error).toEqual({
      tag: "ModelNotFoundError",
      message: missing.message,
      file: "/nope",
    });
    const weights = new WeightFileError({ file: "m.bin", tensor: "wte", expected: "finite", found: "NaN" });
    expect(errorJson(weights).error).toMatchObject({ file: "m.bin", field: "wte" });
    const task = new TaskFileError({ file: "t.jsonl", line: 3, field: "wrong", expected: "x", found: "y" });
    expect(errorJson(task).error).toMatchObject({ tag: "TaskFileError", file: "t.jsonl:3", field: "wrong" });
    expect(Object.keys(errorJson(new UsageError({ message: "m" })).error)).toEqual(["tag", "message"]);
  });
});

describe("--threads", () => {
  it("absent is undefined; an integer within the machine's cap is kept; anything else names the flag and the range", () => {
    expect(threadsFlag({})).toBeUndefined();
    expect(threadsFlag({ threads: "1" })).toBe(1);
    for (const bad of ["0", "1.5", "x", "100000"]) {
      const thrown = (() => {
        try {
          threadsFlag({ threads: bad });
        } catch (e) {
          return e;
        }
        return null;
      })();
      expect(thrown).toBeInstanceOf(UsageError);
      expect((thrown as UsageError).message).toContain("--threads");
    }
    expect(() => threadsFlag({ threads: "100000" })).toThrow(/an integer from 1 to/);
  });
});
