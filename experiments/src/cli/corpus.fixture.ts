import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

/**
 * The CLI corpus: malformed inputs, each run through the real CLI in a child process, each
 * answered by a typed error that names the file or field (exit 1; bad flags exit 2), with no stack
 * trace, no "unexpected failure", and no hang. To add a class of bad input, add a row to CORPUS.
 */
export interface CorpusCase {
  /** the class of bad input */
  readonly name: string;
  /** files written into the case's own folder: relative name → text or bytes */
  readonly files?: Readonly<Record<string, string | Uint8Array>>;
  /** more setup in the case's folder (a FIFO, a mount); return a reason to skip the case */
  readonly setup?: (dir: string) => string | undefined;
  /** the command line after `patchbay`; every `{dir}` is the case's folder */
  readonly args: readonly string[];
  /** 1: bad input, a typed error; 2: bad usage */
  readonly exit: 1 | 2;
  /** what stderr must say: the error's tag, the file, the field, how to fix it */
  readonly says: readonly (string | RegExp)[];
  /**
   * The case run again with `--json`: stderr must be exactly one `{"error": {tag, message, file?,
   * field?}}` object with this tag, and this file (a substring or pattern) and field when given.
   */
  readonly json?: { readonly tag: string; readonly file?: string | RegExp; readonly field?: string };
}

const head = "model: builtin:induction\ntask: { n: 8 }\nmethod: { _tag: eap }\n";
const causal = "kind: causal\nmethod: { _tag: iia, alignment: query }\n";
const readout = "kind: readout\nmodel: builtin:induction\nmethod: { _tag: dla }\n";
const ten = `[${Array.from({ length: 10 }, (_, i) => i).join(", ")}]`;
/** tmpfs mounts made by setups (the test unmounts them) */
export const mounted: string[] = [];
const mount = (options: string) => (dir: string) => {
  const at = join(dir, "mnt");
  mkdirSync(at);
  const r = spawnSync("mount", ["-t", "tmpfs", "-o", options, "tmpfs", at], { encoding: "utf8" });
  if (r.status !== 0) return `cannot mount a tmpfs here: ${r.stderr.trim()}`;
  mounted.push(at);
  return undefined;
};

export const CORPUS: readonly CorpusCase[] = [
  // ── the file: encoding, syntax, shape
  {
    name: "a field of the wrong type (one issue, not one per union member)",
    files: { "x.yaml": 'model: builtin:induction\ntask: { n: "x" }\nmethod: { _tag: eap }\n' },
    args: ["validate", "{dir}/x.yaml"],
    exit: 1,
    says: ["ExperimentFileError", "x.yaml: task.n: expected number", /found "x"$/m],
    json: { tag: "ExperimentFileError", file: "x.yaml", field: "task.n" },
  },
  {
    name: "an unknown field",
    files: { "x.yaml": "model: builtin:induction\ntask: { n: 8 }\nmethod: { _tag: eap, bogus: 1 }\n" },
    args: ["validate", "{dir}/x.yaml"],
    exit: 1,
    says: ["ExperimentFileError", "method.bogus", "unknown fields are errors"],
  },
  {
    name: "a YAML syntax error",
    files: { "x.yaml": "model: builtin:induction\ntask: { n: 8\nmethod: x\n" },
    args: ["validate", "{dir}/x.yaml"],
    exit: 1,
    says: ["ExperimentFileError", /x\.yaml:\d+:\d+/, "valid YAML"],
  },
  {
    name: "a YAML tag outside the core schema",
    files: { "x.yaml": `${head}description: !!js/function 'function () {}'\n` },
    args: ["validate", "{dir}/x.yaml"],
    exit: 1,
    says: ["ExperimentFileError", "x.yaml:4:", "YAML 1.2 core tag"],
  },
  {
    name: "a forbidden key",
    files: { "x.json": '{"model": "builtin:induction", "__proto__": {"polluted": 1}}' },
    args: ["validate", "{dir}/x.json"],
    exit: 1,
    says: ["ExperimentFileError", "x.json", "__proto__"],
  },
  {
    name: "a forbidden sweep path segment",
    files: { "x.yaml": `${head}sweep: { grid: { constructor.prototype.x: [1] } }\n` },
    args: ["validate", "{dir}/x.yaml"],
    exit: 1,
    says: ["ExperimentFileError", "sweep.grid.constructor.prototype.x"],
  },
  {
    name: "invalid JSON",
    files: { "x.json": '{"model": ' },
    args: ["validate", "{dir}/x.json"],
    exit: 1,
    says: ["ExperimentFileError", "x.json", "valid JSON"],
  },
  {
    name: "a document that is not a mapping",
    files: { "x.yaml": "- model\n- task\n" },
    args: ["validate", "{dir}/x.yaml"],
    exit: 1,
    says: ["ExperimentFileError", "(document)", "a mapping of fields"],
  },
  {
    name: "invalid UTF-8",
    files: { "x.yaml": Buffer.concat([Buffer.from(`${head}name: caf`), Buffer.from([0xe9, 0x0a])]) },
    args: ["validate", "{dir}/x.yaml"],
    exit: 1,
    says: ["ExperimentFileError", "x.yaml:4:10", "expected UTF-8 text", "invalid UTF-8 at byte column 10"],
  },
  {
    name: "a folder given as the experiment file",
    setup: (dir) => void mkdirSync(join(dir, "x.yaml")),
    args: ["validate", "{dir}/x.yaml"],
    exit: 1,
    says: ["ExperimentFileError", "x.yaml: (file)", "found a folder"],
  },
  {
    name: "a FIFO given as the experiment file (reading it would block)",
    setup: (dir) => {
      const r = spawnSync("mkfifo", [join(dir, "x.yaml")]);
      return r.status === 0 ? undefined : "no mkfifo";
    },
    args: ["validate", "{dir}/x.yaml"],
    exit: 1,
    says: ["ExperimentFileError", "found a FIFO"],
  },
  {
    name: "a missing experiment file",
    args: ["run", "{dir}/absent.yaml"],
    exit: 1,
    says: ["ExperimentFileError", "absent.yaml: (file)", "ENOENT"],
    json: { tag: "ExperimentFileError", file: "absent.yaml", field: "(file)" },
  },
  {
    name: "an experiment file past the size limit",
    files: { "x.yaml": `${head}description: "${"x".repeat(1_100_000)}"\n` },
    args: ["validate", "{dir}/x.yaml"],
    exit: 1,
    says: ["ExperimentFileError", "x.yaml: (file)", "--max-file-bytes N"],
  },
  {
    name: "zip lists of different lengths",
    files: { "x.yaml": `${head}sweep: { zip: { task.seed: [0, 1], task.n: [8] } }\n` },
    args: ["validate", "{dir}/x.yaml"],
    exit: 1,
    says: ["ExperimentFileError", "sweep.zip.task.n", "a list of 2 values"],
  },
  // ── sizes: refused before anything is expanded or generated
  {
    name: "task.n: 1e12",
    files: { "x.yaml": "model: builtin:induction\ntask: { n: 1e12 }\nmethod: { _tag: eap }\n" },
    args: ["run", "{dir}/x.yaml"],
    exit: 1,
    says: ["ExperimentFileError", "task.n", "--max-examples N", "1,000,000,000,000"],
  },
  {
    name: "a causal task.n past the limit",
    files: { "x.yaml": `${causal}task: { builtin: induction, n: 1000000000 }\n` },
    args: ["validate", "{dir}/x.yaml"],
    exit: 1,
    says: ["ExperimentFileError", "task.n", "--max-examples N"],
  },
  {
    name: "a readout data.n past the limit",
    files: { "x.yaml": `${readout}data: { example: prev-token, n: 1000000000 }\n` },
    args: ["validate", "{dir}/x.yaml"],
    exit: 1,
    says: ["ExperimentFileError", "data.n", "--max-examples N"],
  },
  {
    name: "a 10^10-cell sweep grid",
    files: {
      "x.yaml": `${head}sweep: { grid: { ${Array.from({ length: 10 }, (_, i) => `task.options.k${i}: ${ten}`).join(", ")} } }\n`,
    },
    args: ["validate", "{dir}/x.yaml"],
    exit: 1,
    says: ["ExperimentFileError", "sweep.grid", "10,000,000,000 cells", "--max-cells N"],
  },
  {
    name: "10^6 seeds (past the file size limit)",
    files: {
      "x.json": JSON.stringify({
        model: "builtin:induction",
        seeds: Array.from({ length: 1e6 }, (_, i) => i),
      }),
    },
    args: ["validate", "{dir}/x.json"],
    exit: 1,
    says: ["ExperimentFileError", "x.json: (file)", "--max-file-bytes N"],
  },
  {
    name: "10^6 seeds (the file limit raised)",
    files: {
      "x.json": JSON.stringify({
        model: "builtin:induction",
        seeds: Array.from({ length: 1e6 }, (_, i) => i),
      }),
    },
    args: ["validate", "{dir}/x.json", "--max-file-bytes", "20000000"],
    exit: 1,
    says: ["ExperimentFileError", "x.json: seeds", "1,000,000 seeds", "--max-seeds N"],
  },
  {
    name: "a value outside a literal union lists every allowed value",
    files: { "x.yaml": `${head}ablation: foo\n` },
    args: ["validate", "{dir}/x.yaml"],
    exit: 1,
    says: [
      "ExperimentFileError",
      'ablation: expected one of resample, zero, mean, mean-positional, found "foo"',
    ],
    json: { tag: "ExperimentFileError", file: "x.yaml", field: "ablation" },
  },
  {
    name: "an unknown method tag lists the kind's methods",
    files: { "x.yaml": "model: builtin:induction\ntask: { n: 8 }\nmethod: { _tag: eap-xl }\n" },
    args: ["validate", "{dir}/x.yaml"],
    exit: 1,
    says: ["method._tag", "expected one of eap, eap-ig-inputs, eap-ig-activations, exact, acdc", '"eap-xl"'],
  },
  // ── where results go
  {
    name: "outputs.results outside the file's folder and the current directory",
    files: { "x.yaml": `${head}outputs: { results: ../../../../home/user/.ssh }\n` },
    args: ["run", "{dir}/x.yaml"],
    exit: 1,
    says: ["ExperimentFileError", "outputs.results", "--results DIR"],
  },
  {
    name: "outputs.results with a NUL byte",
    files: { "x.yaml": `${head}outputs: { results: "store\\0x" }\n` },
    args: ["run", "{dir}/x.yaml"],
    exit: 1,
    says: ["ExperimentFileError", "outputs.results", "NUL byte"],
  },
  {
    name: "--results under /proc (node's recursive mkdir would loop forever)",
    files: { "x.yaml": head },
    args: ["run", "{dir}/x.yaml", "--results", "/proc/patchbay-results"],
    exit: 1,
    says: ["ResultsStoreError", "/proc/patchbay-results", "ENOENT"],
  },
  {
    name: "--results through a file (ENOTDIR)",
    files: { "x.yaml": head, "a-file": "x" },
    args: ["run", "{dir}/x.yaml", "--results", "{dir}/a-file/store"],
    exit: 1,
    says: ["ResultsStoreError", "a-file", "ENOTDIR", "a file is in the way"],
    json: { tag: "ResultsStoreError", file: "a-file" },
  },
  {
    name: "--results with a name longer than 255 bytes",
    files: { "x.yaml": head },
    args: ["run", "{dir}/x.yaml", "--results", `{dir}/${"n".repeat(300)}`],
    exit: 1,
    says: ["ResultsStoreError", "ENAMETOOLONG"],
  },
  {
    name: "--results on a read-only file system",
    files: { "x.yaml": head },
    setup: mount("ro,size=64k"),
    args: ["run", "{dir}/x.yaml", "--results", "{dir}/mnt/store"],
    exit: 1,
    says: ["ResultsStoreError", "mnt/store", "EROFS", "read-only"],
  },
  {
    name: "--results on a full file system",
    files: {
      "x.yaml": `${head}evaluation: { spearmanSample: 0 }\nsweep: { grid: { task.seed: [0, 1, 2, 3] } }\n`,
    },
    setup: mount("size=16k"),
    args: ["run", "{dir}/x.yaml", "--results", "{dir}/mnt"],
    exit: 1,
    says: ["ResultsStoreError", "ENOSPC", "free space"],
  },
  {
    name: "ls of a store whose runs is a file",
    files: { "store/runs": "x" },
    args: ["ls", "{dir}/store"],
    exit: 1,
    says: ["ResultsStoreError", "store/runs", "ENOTDIR"],
  },
  // ── what the file names: models, data, sites
  {
    name: "a missing model",
    files: { "x.yaml": "model: ./no-model\ntask: { n: 8 }\nmethod: { _tag: eap }\n" },
    args: ["validate", "{dir}/x.yaml"],
    exit: 1,
    says: ["ModelNotFoundError", "no-model"],
    json: { tag: "ModelNotFoundError", file: "no-model" },
  },
  {
    name: "an unknown builtin model",
    files: { "x.yaml": "model: builtin:nope\ntask: { n: 8 }\nmethod: { _tag: eap }\n" },
    args: ["validate", "{dir}/x.yaml"],
    exit: 1,
    says: ["UnknownBuiltinError", "builtin:nope", "builtin:induction"],
  },
  {
    name: "a missing task file",
    files: { "x.yaml": "model: builtin:induction\ntask: { file: absent.jsonl }\nmethod: { _tag: eap }\n" },
    args: ["validate", "{dir}/x.yaml"],
    exit: 1,
    says: ["TaskFileError", "absent.jsonl"],
  },
  {
    name: "a task file with a bad line",
    files: {
      "x.yaml": "model: builtin:induction\ntask: { file: t.jsonl }\nmethod: { _tag: eap }\n",
      "t.jsonl": '{"clean": 3}\n',
    },
    args: ["validate", "{dir}/x.yaml"],
    exit: 1,
    says: ["TaskFileError", "t.jsonl:1", "clean"],
    json: { tag: "TaskFileError", file: /t\.jsonl:1$/, field: "clean" },
  },
  {
    name: "runtime.threads past the cap",
    files: { "x.yaml": `${head}runtime: { threads: 100000 }\n` },
    args: ["validate", "{dir}/x.yaml"],
    exit: 1,
    says: ["ExperimentFileError", "runtime.threads", "found 100000"],
  },
  {
    name: "an unknown causal family",
    files: { "x.yaml": `${causal}task: { builtin: induction, family: nope }\n` },
    args: ["validate", "{dir}/x.yaml"],
    exit: 1,
    says: ["InputError", "task.family", "query, query-same-block, output", '"nope"'],
    json: { tag: "InputError", field: "task.family" },
  },
  {
    name: "a site the model does not have",
    files: {
      "x.yaml":
        "kind: readout\nmodel: builtin:induction\ndata: { task: { n: 4 } }\nmethod: { _tag: probe, site: blocks.9.resid_pre }\n",
    },
    args: ["validate", "{dir}/x.yaml"],
    exit: 1,
    says: ["InputError", "method.site", "blocks.9.resid_pre", "nearest"],
  },
  {
    name: "a position past the prompt",
    files: {
      "x.yaml":
        "kind: causal\ntask: { builtin: induction, n: 4 }\nmethod: { _tag: das, variable: Q, site: blocks.1.resid_pre, positions: [{ index: 99 }] }\n",
    },
    args: ["validate", "{dir}/x.yaml"],
    exit: 1,
    says: ["CausalError", "method.positions[0]", "a position in [0,"],
    json: { tag: "CausalError", field: "method.positions[0] in example 0 (base)" },
  },
  // ── flags
  { name: "no FILE", args: ["validate"], exit: 2, says: ["FILE", "usage: patchbay validate"] },
  {
    name: "--max-cells that is not a number",
    files: { "x.yaml": head },
    args: ["validate", "{dir}/x.yaml", "--max-cells", "lots"],
    exit: 2,
    says: ["--max-cells", '"lots"'],
    json: { tag: "UsageError" },
  },
  {
    name: "--max-seeds 0",
    files: { "x.yaml": head },
    args: ["run", "{dir}/x.yaml", "--max-seeds", "0"],
    exit: 2,
    says: ["--max-seeds", "≥ 1"],
  },
  {
    name: "--ids with --schema-only",
    files: { "x.yaml": head },
    args: ["validate", "{dir}/x.yaml", "--schema-only", "--ids"],
    exit: 2,
    says: ["--ids", "--schema-only"],
  },
  {
    name: "an unknown flag",
    files: { "x.yaml": head },
    args: ["validate", "{dir}/x.yaml", "--bogus"],
    exit: 2,
    says: ["--bogus"],
    json: { tag: "UsageError" },
  },
];
