import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

/**
 * The fast path stays fast: `patchbay --help`, `--version` and `<command> --help` import the
 * command table only. A module hook records every module the bin loads; none may be ORT, Effect,
 * the queue client, Arrow, Playwright, elkjs, YAML, or any of patchbay's modules outside the
 * table (the engine, a command's implementation). `logits` is the control: it must load ORT.
 */

const bin = fileURLToPath(new URL("./bin.ts", import.meta.url));
const repo = fileURLToPath(new URL("../../../", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "patchbay-startup-"));
const hooks = join(dir, "record.mjs");
writeFileSync(
  hooks,
  `import { register } from "node:module";
register("data:text/javascript," + encodeURIComponent(\`
import { appendFileSync } from "node:fs";
export async function load(url, context, next) {
  appendFileSync(process.env.PATCHBAY_LOADED, url + "\\\\n");
  return next(url, context);
}\`));
`,
);

let runs = 0;
const loaded = (...args: string[]) => {
  const log = join(dir, `loaded-${runs++}.txt`);
  writeFileSync(log, "");
  const r = spawnSync(process.execPath, ["--import", "tsx", "--import", hooks, bin, ...args], {
    cwd: repo,
    encoding: "utf8",
    env: { ...process.env, PATCHBAY_LOADED: log },
    timeout: 120_000,
  });
  const urls = readFileSync(log, "utf8").split("\n").filter(Boolean);
  return { ...r, urls };
};

/** Packages the fast path must not import. */
const HEAVY =
  /node_modules\/(\.pnpm\/)?(onnxruntime-node|bullmq|apache-arrow|playwright-core|elkjs|yaml|effect|@huggingface)[@/]/;
/** patchbay's modules the fast path may import: the command tables and the plain lists they print. */
const LIGHT =
  /\/(packages\/core\/src\/cli\/(table|app|command|choices|core-commands|usage|error-json)|packages\/core\/src\/(patching\/ablation-kinds|engine\/metric-kinds|edges\/layout|runtime\/providers)|packages\/circuits\/src\/cli\/(table|choices)|packages\/circuits\/src\/methods\/names|experiments\/src\/cli\/commands|experiments\/src\/spec\/limits|packages\/patchbay\/src\/bin)\.ts$/;
const ours = (urls: readonly string[]) =>
  urls.filter((u) => u.startsWith("file://") && !u.includes("/node_modules/"));

describe("patchbay's bin: help and version import the command table only", () => {
  it.each([
    [["--help"]],
    [["--version"]],
    [["circuit", "--help"]],
    [["run", "-h", "--bogus"]],
    [["logits", "--help", "--ids", "x"]],
  ])("%j loads no engine, ORT, Effect, queue, Arrow, Playwright, elkjs or YAML", (args) => {
    const r = loaded(...args);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.length).toBeGreaterThan(0);
    expect(r.urls.filter((u) => HEAVY.test(u))).toEqual([]);
    expect(ours(r.urls).filter((u) => !LIGHT.test(u))).toEqual([]);
    expect(ours(r.urls).some((u) => u.endsWith("/experiments/src/cli/commands.ts"))).toBe(true);
  });

  it("--version prints this package's version", () => {
    const r = loaded("--version");
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
    expect(r.stdout.trim()).toBe(pkg.version);
  });

  it("the control: running logits loads ORT and the command's implementation (the hook sees them)", () => {
    const r = loaded("logits", "--model", "builtin:induction", "--ids", "1,2", "--json");
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).logits).toHaveLength(2);
    expect(r.urls.some((u) => /onnxruntime-node/.test(u))).toBe(true);
    expect(r.urls.some((u) => u.endsWith("/packages/core/src/cli/commands/logits.ts"))).toBe(true);
  });
});
