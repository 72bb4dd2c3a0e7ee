// `node scripts/namespace-imports.mjs [--check] [files…]`: rewrites imports from "@patchbay/core" to
// the subpath module that exports each name (issue 15 §5): `import { plan, runPlan } from
// "@patchbay/core"` becomes `import { plan, runPlan } from "@patchbay/core/engine"`. The root module
// exports only namespaces (`Engine`, `Weights`, …); names it exports (a namespace) stay on the root.
//
// The map is read from packages/core/package.json `exports` (every subpath but "." and "./cli") and
// each subpath's index, through the TypeScript checker, so it follows the code. A name no subpath
// exports, or that two export, is an error (exit 2) naming the file. Idempotent: a second run
// changes nothing. Covers every tracked .ts/.mts/.tsx/.mjs file outside packages/core/src and the
// fenced ts blocks of tracked Markdown files; `import type` and inline `type` stay as written, and
// names for a subpath the file already imports from join that import. `--check` writes nothing and
// exits 1 when a file would change.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const CORE = "@patchbay/core";
const LINE_WIDTH = 110; // biome.json formatter.lineWidth

const fail = (message) => {
  console.error(`namespace-imports: ${message}`);
  process.exit(2);
};

/** name → subpath ("@patchbay/core/engine"), and the names the root itself exports (namespaces). */
const subpathMap = () => {
  const pkgDir = path.join(ROOT, "packages/core");
  const exportsField = JSON.parse(readFileSync(path.join(pkgDir, "package.json"), "utf8")).exports;
  const entries = Object.entries(exportsField)
    .filter(([, file]) => file.endsWith(".ts"))
    .map(([key, file]) => [key, path.join(pkgDir, file)]);
  const program = ts.createProgram(
    entries.map(([, file]) => file),
    {
      allowImportingTsExtensions: true,
      noEmit: true,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      target: ts.ScriptTarget.ES2022,
    },
  );
  const checker = program.getTypeChecker();
  const namesOf = (file) => {
    const source = program.getSourceFile(file);
    if (source === undefined) fail(`cannot read ${file}`);
    return checker.getExportsOfModule(checker.getSymbolAtLocation(source)).map((s) => s.name);
  };
  const bySubpath = new Map();
  let rootNames = new Set();
  for (const [key, file] of entries) {
    if (key === ".") rootNames = new Set(namesOf(file));
    else if (key !== "./cli" && !key.startsWith("./cli/") && file.endsWith(".ts")) {
      for (const name of namesOf(file)) {
        const other = bySubpath.get(name);
        if (other !== undefined) fail(`${name} is exported by both ${other} and ${CORE}/${key.slice(2)}`);
        bySubpath.set(name, `${CORE}/${key.slice(2)}`);
      }
    }
  }
  return { bySubpath, rootNames };
};

const named = (st) =>
  ts.isImportDeclaration(st) ? st.importClause?.namedBindings : (st.exportClause ?? undefined);
const isTypeOnly = (st) =>
  ts.isImportDeclaration(st) ? st.importClause?.isTypeOnly === true : st.isTypeOnly;

/** `import type { a, b } from "m";`, on one line if it fits, else one name per line (as biome prints it). */
const statement = (keyword, typeOnly, names, from, indent) => {
  const head = `${keyword}${typeOnly ? " type" : ""}`;
  const one = `${head} { ${names.join(", ")} } from "${from}";`;
  if (indent.length + one.length <= LINE_WIDTH) return one;
  return `${head} {\n${names.map((n) => `${indent}  ${n},`).join("\n")}\n${indent}} from "${from}";`;
};

/**
 * The rewritten text of one module (null when nothing changes). Statements from the root are
 * split by subpath in place; names for a subpath the module already imports from (same
 * `import type`-ness) are added to that import instead.
 */
const rewrite = (text, where, map) => {
  const sf = ts.createSourceFile(where, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const spec = (st) => st.moduleSpecifier?.text;
  const decls = sf.statements.filter((st) => ts.isImportDeclaration(st) || ts.isExportDeclaration(st));
  const fromRoot = decls.filter((st) => spec(st) === CORE);
  if (fromRoot.length === 0) return null;
  // existing `import { … } from "@patchbay/core/x"` statements that new names may join
  const joinable = new Map();
  for (const st of decls) {
    const bindings = named(st);
    if (!ts.isImportDeclaration(st) || bindings === undefined || !ts.isNamedImports(bindings)) continue;
    if (!spec(st).startsWith(`${CORE}/`) || st.importClause.name !== undefined) continue;
    const key = `${spec(st)}|${isTypeOnly(st)}`;
    if (!joinable.has(key)) joinable.set(key, { st, names: bindings.elements.map((e) => e.getText(sf)) });
  }
  const edits = []; // [start, end, text]
  const joined = new Set();
  for (const st of fromRoot) {
    const bindings = named(st);
    const line = sf.getLineAndCharacterOfPosition(st.getStart(sf)).line + 1;
    const at = `${where}:${line}`;
    if (bindings === undefined || ts.isNamespaceImport(bindings)) {
      if (ts.isImportDeclaration(st) && bindings !== undefined && st.importClause.name === undefined)
        continue; // import * as Core
      fail(`${at}: only named imports and exports of ${CORE} can be mapped to a subpath`);
    }
    if (ts.isImportDeclaration(st) && st.importClause.name !== undefined)
      fail(`${at}: ${CORE} has no default export`);
    const typeOnly = isTypeOnly(st);
    const keyword = ts.isImportDeclaration(st) ? "import" : "export";
    const groups = new Map(); // subpath → element texts, in order of first appearance
    for (const el of bindings.elements) {
      const name = (el.propertyName ?? el.name).text;
      const typeUse = typeOnly || el.isTypeOnly;
      // A type-only `Weights` / `Model` / `Tokenizer` is the type of that name (the pre-namespace
      // meaning); a value import of a namespace name is the namespace and stays on the root.
      const sub = map.bySubpath.get(name);
      const target =
        sub !== undefined && (typeUse || !map.rootNames.has(name))
          ? sub
          : map.rootNames.has(name)
            ? CORE
            : undefined;
      if (target === undefined)
        fail(`${at}: ${name} is exported by no subpath of ${CORE} (see packages/core/src/*/index.ts)`);
      if (!groups.has(target)) groups.set(target, []);
      groups.get(target).push(el);
    }
    if (groups.size === 1 && groups.has(CORE)) continue;
    const indent = text.slice(text.lastIndexOf("\n", st.getStart(sf)) + 1, st.getStart(sf)).match(/^\s*/)[0];
    const out = [];
    for (const [target, elements] of groups) {
      // `{ type A, type B }` is written `import type { A, B }` (biome's useImportType)
      const allType = typeOnly || elements.every((el) => el.isTypeOnly);
      const names = elements.map((el) =>
        allType && el.isTypeOnly ? el.getText(sf).replace(/^type\s+/, "") : el.getText(sf),
      );
      const join = keyword === "import" && target !== CORE ? joinable.get(`${target}|${allType}`) : undefined;
      if (join !== undefined) {
        for (const n of names) if (!join.names.includes(n)) join.names.push(n);
        joined.add(join);
      } else {
        out.push(statement(keyword, allType, names, target, indent));
        if (keyword === "import" && target !== CORE) {
          // later root statements of this file join the statement just written
          joinable.set(`${target}|${allType}`, { st: null, names, out, index: out.length - 1, indent });
        }
      }
    }
    edits.push({ start: st.getStart(sf), end: st.getEnd(), out, keyword, typeOnly });
  }
  for (const j of joined) {
    if (j.st === null) {
      const target = j.out[j.index].match(/from "([^"]+)";$/)[1];
      j.out[j.index] = statement(
        "import",
        j.out[j.index].startsWith("import type"),
        j.names,
        target,
        j.indent,
      );
    } else {
      const st = j.st;
      const indent = text
        .slice(text.lastIndexOf("\n", st.getStart(sf)) + 1, st.getStart(sf))
        .match(/^\s*/)[0];
      edits.push({
        start: st.getStart(sf),
        end: st.getEnd(),
        out: [statement("import", isTypeOnly(st), j.names, spec(st), indent)],
      });
    }
  }
  edits.sort((a, b) => b.start - a.start);
  let result = text;
  for (const e of edits) {
    const indent = result.slice(result.lastIndexOf("\n", e.start) + 1, e.start).match(/^\s*/)[0];
    let end = e.end;
    let replacement = e.out.join(`\n${indent}`);
    if (replacement === "") {
      // the statement is gone (all its names joined other imports): drop its line
      if (result[end] === "\n") end += 1;
      replacement = "";
    }
    result = result.slice(0, e.start) + replacement + result.slice(end);
  }
  return result === text ? null : result;
};

/** Rewrites each ```ts block of a Markdown file on its own. */
const rewriteMarkdown = (text, where, map) => {
  let changed = false;
  const out = text.replace(
    /^([ \t]*)```(ts|typescript)\n([\s\S]*?)^\1```/gm,
    (whole, indent, lang, body, offset) => {
      const line = text.slice(0, offset).split("\n").length;
      const next = rewrite(body, `${where}:${line} (block)`, map);
      if (next === null) return whole;
      changed = true;
      return `${indent}\`\`\`${lang}\n${next}${indent}\`\`\``;
    },
  );
  return changed ? out : null;
};

const trackedFiles = () =>
  execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard"], {
    cwd: ROOT,
    encoding: "utf8",
  })
    .split("\n")
    .filter(
      (f) =>
        /\.(ts|mts|tsx|mjs|md)$/.test(f) &&
        !f.includes("node_modules/") &&
        !f.startsWith("packages/core/src/"),
    )
    .filter((f) => !f.endsWith("scripts/namespace-imports.mjs"));

const main = () => {
  const args = process.argv.slice(2);
  const check = args.includes("--check");
  const given = args.filter((a) => a !== "--check");
  const files = given.length > 0 ? given.map((f) => path.relative(ROOT, path.resolve(f))) : trackedFiles();
  const map = subpathMap();
  const changed = [];
  for (const file of files) {
    let text;
    try {
      text = readFileSync(path.join(ROOT, file), "utf8");
    } catch {
      continue; // listed by git but deleted in the working tree
    }
    if (!text.includes(`"${CORE}"`)) continue;
    const next = file.endsWith(".md") ? rewriteMarkdown(text, file, map) : rewrite(text, file, map);
    if (next === null) continue;
    changed.push(file);
    if (!check) writeFileSync(path.join(ROOT, file), next);
  }
  const verb = check ? "would rewrite" : "rewrote";
  console.log(
    `namespace-imports: ${verb} ${changed.length} file(s)${changed.length ? `:\n  ${changed.join("\n  ")}` : ""}`,
  );
  if (check && changed.length > 0) process.exit(1);
};

main();
