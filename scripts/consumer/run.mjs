/**
 * `pnpm consumer` (part of `pnpm check`, after `pnpm build`): patchbay as a user gets it.
 *
 *   1. `pnpm pack` every package (publishConfig applied: dist/, no sources, tests or fixtures).
 *   2. A fresh project in the OS temp folder, outside the workspace, installs the tarballs with npm
 *      (`--prefer-offline`: third-party packages come from npm's cache when it has them, else the
 *      registry; patchbay's own come only from the tarballs; onnxruntime-node's install script is
 *      skipped with ONNXRUNTIME_NODE_INSTALL=skip, as README tells users to).
 *   3. `node check.mjs` (plain Node, no tsx): opens a model, captures a site, runs EAP through the
 *      Promise API and asserts the scores equal the installed CLI's (`patchbay circuit --json`).
 *      Then the package README's JavaScript example, and `npx patchbay demo`.
 *   4. `tsc --noEmit` on a strict TypeScript consumer (module NodeNext, skipLibCheck off): zero errors.
 *
 * The model is tl-induction-2L from ../shared/models when present, else the tiny GPT-2 fixture in
 * testdata/ (said loudly). PATCHBAY_CONSUMER_KEEP=1 keeps the project (its path is printed);
 * `--project DIR` installs into DIR instead of a temp folder (the startup bench uses this).
 */
import { spawnSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { PACKAGE_DIRS } from "../build.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const shared = join(root, "..", "shared", "models", "tl-induction-2L");

const run = (cmd, args, opts = {}) => {
  const t0 = Date.now();
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 1 << 28, ...opts });
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  if (r.status !== 0) {
    console.error(`consumer: ${cmd} ${args.join(" ")} failed (exit ${r.status ?? r.signal}, ${secs} s)`);
    console.error(r.stdout ?? "", r.stderr ?? "");
    process.exit(1);
  }
  return { ...r, secs };
};

const projectFlag = process.argv.indexOf("--project");
const project =
  projectFlag >= 0
    ? resolve(process.argv[projectFlag + 1])
    : mkdtempSync(join(tmpdir(), "patchbay-consumer-"));
const keep = projectFlag >= 0 || process.env.PATCHBAY_CONSUMER_KEEP === "1";
try {
  // 1. pack
  const packs = join(project, "packs");
  rmSync(packs, { recursive: true, force: true });
  mkdirSync(packs, { recursive: true });
  const pnpm = process.env.npm_execpath?.includes("pnpm") ? process.env.npm_execpath : null;
  for (const dir of PACKAGE_DIRS) {
    if (!existsSync(join(root, dir, "dist", "index.js")))
      throw new Error(`consumer: ${dir}/dist is missing: run pnpm build first`);
    const args = ["pack", "--pack-destination", packs];
    if (pnpm !== null) run(process.execPath, [pnpm, ...args], { cwd: join(root, dir) });
    else run("npx", ["-y", "pnpm@10", ...args], { cwd: join(root, dir) });
  }
  const tarballs = readdirSync(packs).map((f) => join(packs, f));
  // 2. install
  writeFileSync(
    join(project, "package.json"),
    `${JSON.stringify({ name: "patchbay-consumer", private: true, type: "module" }, null, 2)}\n`,
  );
  const env = { ...process.env, ONNXRUNTIME_NODE_INSTALL: "skip" };
  for (const k of Object.keys(env)) if (k.startsWith("npm_") || k === "NODE_OPTIONS") delete env[k];
  const install = run(
    "npm",
    ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error", ...tarballs],
    { cwd: project, env },
  );
  console.log(`consumer: installed ${tarballs.length} tarballs into ${project} (${install.secs} s)`);
  for (const f of ["check.mjs", "consumer.ts", "tsconfig.json"])
    copyFileSync(join(here, f), join(project, f));
  // 3. plain node
  const model = existsSync(shared) ? shared : join(root, "testdata", "fixtures", "tiny-gpt2");
  if (model !== shared)
    console.warn(
      "consumer: ../shared/models is absent: checking with testdata/fixtures/tiny-gpt2 instead of tl-induction-2L",
    );
  const check = run(process.execPath, ["check.mjs", model], { cwd: project, env });
  process.stdout.write(check.stdout);
  // the package README's JavaScript example, as a user pastes it into a .mjs file
  const readme = readFileSync(join(root, "packages", "patchbay", "README.md"), "utf8");
  const example = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
  if (example === undefined) throw new Error("consumer: packages/patchbay/README.md has no js example");
  writeFileSync(join(project, "readme-example.mjs"), example);
  run(process.execPath, ["readme-example.mjs"], { cwd: project, env });
  console.log("consumer: packages/patchbay/README.md's example runs under plain node");
  // `npx patchbay demo`: the main job from the installed bin (plain node, the zoo's models)
  const demo = run("npx", ["--no-install", "patchbay", "demo"], { cwd: project, env });
  if (!existsSync(join(project, "out", "demo", "report.html")))
    throw new Error(`consumer: npx patchbay demo wrote no out/demo/report.html:\n${demo.stdout}`);
  console.log(`consumer: npx patchbay demo ran from the installed bin (${demo.secs} s)`);
  // 4. strict TypeScript consumer: as users compile (skipLibCheck on, tsc --init's default), zero
  // errors; then every .d.ts checked too (skipLibCheck off): zero errors in patchbay's own
  // declarations. onnxruntime-common's declarations name DOM types (ImageData, WebGLTexture…) and
  // fail without lib "DOM" in any project: those are listed, not counted.
  const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
  const types = join(root, "node_modules", "@types");
  const ts = run(process.execPath, [tsc, "-p", "tsconfig.json", "--typeRoots", types], { cwd: project, env });
  const all = spawnSync(
    process.execPath,
    [tsc, "-p", "tsconfig.json", "--typeRoots", types, "--skipLibCheck", "false"],
    { cwd: project, env, encoding: "utf8" },
  );
  const errors = all.stdout.split("\n").filter((l) => /error TS\d+/.test(l));
  const ours = errors.filter((l) => !l.startsWith("node_modules/onnxruntime-common/"));
  if (ours.length > 0) {
    console.error(`consumer: declaration errors with skipLibCheck off:\n${ours.join("\n")}`);
    process.exit(1);
  }
  console.log(
    `consumer: strict NodeNext TypeScript consumer compiles with 0 errors (${ts.secs} s); with skipLibCheck off, 0 in patchbay's declarations (${errors.length} in onnxruntime-common's, which need lib DOM)`,
  );
} finally {
  if (keep) console.log(`consumer: project kept at ${project}`);
  else rmSync(project, { recursive: true, force: true });
}
