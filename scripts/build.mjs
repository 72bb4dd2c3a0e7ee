/**
 * `pnpm build`: every package to ESM JavaScript + .d.ts (with declaration maps) in its dist/.
 *
 *   1. `tsc -b tsconfig.build.json` into emptied dist/ folders (no stale file of a deleted source is
 *      ever packed) (project references: core < zoo < circuits/causal/readouts <
 *      experiments < patchbay; tests, fixtures and test helpers are not built).
 *   2. The .d.ts files keep the source's `./x.ts` specifiers (tsc rewrites them to `./x.js` only in
 *      the JavaScript); they are rewritten here too, so a consumer's tsc resolves `./x.js` next to
 *      `./x.d.ts` like any published package. (Same length: the declaration maps stay valid.)
 *   3. Each package.json's `publishConfig` (what `pnpm pack` applies) must match its `exports`:
 *      `./src/x.ts` in the repo is `./dist/x.js` + `./dist/x.d.ts` published. A mismatch fails the
 *      build; `node scripts/build.mjs --write-manifests` writes the derived fields.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
export const PACKAGE_DIRS = [
  "packages/core",
  "packages/zoo",
  "packages/circuits",
  "packages/causal",
  "packages/readouts",
  "experiments",
  "packages/patchbay",
];

/** Command-line entry points, published as `bin` (not linked in the workspace: use `pnpm patchbay`). */
const BINS = { "packages/patchbay": { patchbay: "./src/bin.ts" } };

const walk = (d) =>
  readdirSync(d, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(d, e.name)) : [join(d, e.name)],
  );

/** `./src/a/b.ts` → `./dist/a/b` (the published path without extension), else null. */
const distPath = (src) =>
  /^\.\/src\/.+\.ts$/.test(src) ? src.replace(/^\.\/src\//, "./dist/").slice(0, -3) : null;

/** The publishConfig a package.json's repo-side fields imply. */
export const derivedPublishConfig = (dir, pkg) => {
  const exports = Object.fromEntries(
    Object.entries(pkg.exports ?? {}).map(([key, src]) => {
      const d = typeof src === "string" ? distPath(src) : null;
      return [key, d === null ? src : { types: `${d}.d.ts`, import: `${d}.js` }];
    }),
  );
  const out = { access: "public", exports };
  if (BINS[dir] !== undefined)
    out.bin = Object.fromEntries(Object.entries(BINS[dir]).map(([k, src]) => [k, `${distPath(src)}.js`]));
  return out;
};

const manifests = (write) => {
  const wrong = [];
  for (const dir of PACKAGE_DIRS) {
    const file = join(root, dir, "package.json");
    const pkg = JSON.parse(readFileSync(file, "utf8"));
    const want = derivedPublishConfig(dir, pkg);
    if (JSON.stringify(pkg.publishConfig) === JSON.stringify(want)) continue;
    if (write) writeFileSync(file, `${JSON.stringify({ ...pkg, publishConfig: want }, null, 2)}\n`);
    else wrong.push(`${dir}/package.json: publishConfig should be ${JSON.stringify(want)}`);
  }
  return wrong;
};

const main = () => {
  const wrong = manifests(process.argv.includes("--write-manifests"));
  if (wrong.length > 0) {
    console.error(`${wrong.join("\n")}\n(run node scripts/build.mjs --write-manifests)`);
    process.exit(1);
  }
  for (const dir of PACKAGE_DIRS) rmSync(join(root, dir, "dist"), { recursive: true, force: true });
  const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
  const r = spawnSync(process.execPath, [tsc, "-b", join(root, "tsconfig.build.json")], { stdio: "inherit" });
  if (r.status !== 0) process.exit(r.status ?? 1);
  let rewritten = 0;
  for (const dir of PACKAGE_DIRS) {
    for (const f of walk(join(root, dir, "dist")).filter((f) => f.endsWith(".d.ts"))) {
      const s = readFileSync(f, "utf8");
      const t = s.replace(/((?:from|import\()\s*["'])(\.{1,2}\/[^"']*?)\.ts(["'])/g, "$1$2.js$3");
      if (t !== s) {
        writeFileSync(f, t);
        rewritten++;
      }
    }
  }
  // what is published holds no test, fixture or test helper (the tsconfig.build.json excludes)
  const testLike = /(\.test\.|test-support|[./-]fixture\.|\/testing(\/|\.)|\/test-)/;
  const shipped = PACKAGE_DIRS.flatMap((dir) =>
    walk(join(root, dir, "dist")).map((f) => f.slice(root.length + 1)),
  );
  const tests = shipped.filter((f) => testLike.test(f));
  if (tests.length > 0) {
    console.error(
      `build: test files in dist/ (exclude them in tsconfig.build.json):\n  ${tests.join("\n  ")}`,
    );
    process.exit(1);
  }
  console.log(`built ${PACKAGE_DIRS.length} packages (${rewritten} .d.ts files' specifiers rewritten)`);
};

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
