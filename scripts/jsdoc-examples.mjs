// `node scripts/jsdoc-examples.mjs [--json]`: counts the public runtime functions of every package
// (not types, classes, schemas or constants) with and without a JSDoc `@example` holding a fenced
// ```ts block (issue 15 §5). A package's public functions are those its root entry
// (package.json `exports["."]`) exports, grouped by namespace: a namespace export (core's `Engine`,
// patchbay's `circuits`) is a group of its own, functions exported flat are the group ".". patchbay's
// re-exports of core's namespaces are core's, counted there. Prints the counts per package and
// group and the functions still without an example; `--json` prints
// {package: {group: {with: [...], without: [...]}}} for tests.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { PACKAGE_DIRS } from "./build.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const packages = PACKAGE_DIRS.map((dir) => {
  const manifest = JSON.parse(readFileSync(path.join(ROOT, dir, "package.json"), "utf8"));
  return {
    name: manifest.name,
    dir: path.join(ROOT, dir),
    index: path.join(ROOT, dir, manifest.exports["."]),
  };
});

const program = ts.createProgram(
  packages.map((p) => p.index),
  {
    allowImportingTsExtensions: true,
    noEmit: true,
    strict: true,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    target: ts.ScriptTarget.ES2022,
    types: ["node"],
  },
);
const checker = program.getTypeChecker();
const resolve = (s) => (s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s);

/** A plain function: callable, not constructible (classes and effect Schemas are constructible). */
const isFunction = (symbol) => {
  if (!(symbol.flags & ts.SymbolFlags.Value) || symbol.declarations === undefined) return false;
  const decl = symbol.declarations[0];
  const type = checker.getTypeOfSymbolAtLocation(symbol, decl);
  return type.getCallSignatures().length > 0 && type.getConstructSignatures().length === 0;
};

const hasExample = (symbol) =>
  symbol.declarations.some((decl) =>
    ts
      .getJSDocTags(decl)
      .some(
        (tag) =>
          tag.tagName.text === "example" && /```ts\n/.test(ts.getTextOfJSDocComment(tag.comment) ?? ""),
      ),
  );

/** A namespace export (`export * as X`): the module it names. */
const isNamespace = (symbol) => (symbol.flags & ts.SymbolFlags.ValueModule) !== 0;
const declaredIn = (symbol, dir) =>
  (symbol.declarations ?? []).some((d) => d.getSourceFile().fileName.startsWith(`${dir}/`));

const rowOf = (members) => {
  const row = { with: [], without: [] };
  for (const m of members) {
    const s = resolve(m);
    if (isFunction(s)) (hasExample(s) ? row.with : row.without).push(m.name);
  }
  return row;
};

const coverageOf = (pkg) => {
  const root = checker.getSymbolAtLocation(program.getSourceFile(pkg.index));
  const out = {};
  const flat = [];
  for (const e of checker.getExportsOfModule(root)) {
    const s = resolve(e);
    if (!isNamespace(s)) flat.push(e);
    // a namespace of another package re-exported (patchbay's Engine, …) is counted in its own package
    else if (declaredIn(s, pkg.dir)) out[e.name] = rowOf(checker.getExportsOfModule(s));
  }
  const row = rowOf(flat);
  if (row.with.length + row.without.length > 0) out["."] = row;
  return out;
};

const coverage = Object.fromEntries(packages.map((p) => [p.name, coverageOf(p)]));
if (process.argv.includes("--json")) console.log(JSON.stringify(coverage));
else {
  let withN = 0;
  let withoutN = 0;
  for (const [pkg, groups] of Object.entries(coverage)) {
    const rows = Object.values(groups);
    const w = rows.reduce((n, r) => n + r.with.length, 0);
    const wo = rows.reduce((n, r) => n + r.without.length, 0);
    withN += w;
    withoutN += wo;
    console.log(`${pkg}  ${w}/${w + wo}`);
    for (const [group, { with: gw, without }] of Object.entries(groups))
      console.log(
        `  ${group.padEnd(12)} ${gw.length}/${gw.length + without.length}${without.length ? `  missing: ${without.join(", ")}` : ""}`,
      );
  }
  console.log(`public functions: ${withN + withoutN}, with an @example: ${withN}, without: ${withoutN}`);
}
