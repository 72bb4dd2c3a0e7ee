// `node scripts/jsdoc-examples.mjs [--json]`: counts the public runtime functions of @patchbay/core
// (every function a namespace of packages/core/src/index.ts exports: not types, classes, schemas or
// constants) with and without a JSDoc `@example` holding a fenced ```ts block (issue 15 §5). Prints
// the counts per namespace and the functions still without one; `--json` prints
// {namespace: {with: [...], without: [...]}} for tests.
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const INDEX = path.join(ROOT, "packages/core/src/index.ts");

const program = ts.createProgram([INDEX], {
  allowImportingTsExtensions: true,
  noEmit: true,
  strict: true,
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  target: ts.ScriptTarget.ES2022,
  types: ["node"],
});
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

const exampleCoverage = () => {
  const root = checker.getSymbolAtLocation(program.getSourceFile(INDEX));
  const out = {};
  for (const ns of checker.getExportsOfModule(root)) {
    const members = checker.getExportsOfModule(resolve(ns));
    const row = { with: [], without: [] };
    for (const m of members) {
      const s = resolve(m);
      if (isFunction(s)) (hasExample(s) ? row.with : row.without).push(m.name);
    }
    out[ns.name] = row;
  }
  return out;
};

const coverage = exampleCoverage();
if (process.argv.includes("--json")) console.log(JSON.stringify(coverage));
else {
  let withN = 0;
  let withoutN = 0;
  for (const [ns, { with: w, without }] of Object.entries(coverage)) {
    withN += w.length;
    withoutN += without.length;
    console.log(
      `${ns.padEnd(12)} ${w.length}/${w.length + without.length}${without.length ? `  missing: ${without.join(", ")}` : ""}`,
    );
  }
  console.log(`public functions: ${withN + withoutN}, with an @example: ${withN}, without: ${withoutN}`);
}
