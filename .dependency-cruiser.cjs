/**
 * `pnpm depcheck`: no module-level cycle anywhere (source, tests, benches), and no import against
 * the layer order written in ARCHITECTURE.md ("Layers"). Test files obey the same order; the one
 * exception is a package's test helpers (packages/core/src/testing/, `test-support.ts` files),
 * which any test may import.
 */

/** Packages, lowest first; a package may import only packages in earlier entries. */
const PACKAGES = [["core"], ["zoo"], ["circuits", "causal", "readouts"], ["experiments"], ["patchbay"]];

/** Folders of packages/core/src, lowest first; a folder may import only folders in earlier entries. */
const CORE = [
  ["internal"],
  ["tensor", "errors", "text"],
  ["model", "graph"],
  ["sites", "testing"],
  ["hub"],
  ["weights"],
  ["tokenizer"],
  ["reference", "optim"],
  ["transformer", "autodiff"],
  ["runtime"],
  ["edges"],
  ["engine"],
  ["patching"],
  ["cli"],
];

const pkgPath = (p) => (p === "experiments" ? "^experiments/" : `^packages/${p}/`);
const alt = (xs) => `(${xs.join("|")})`;
const TEST_HELPERS = "^packages/core/src/testing/|/test-support\\.ts$";

/**
 * Inside experiments/src (ARCHITECTURE.md, Layers): base modules < kinds/kind.ts (the interface) <
 * kinds/<kind>/ (each kind, on its own) < kinds/index.ts (the list, and unions over the kinds) <
 * generic dispatch (everything else: spec/load, spec/json-schema, run/, pool/, distributed/, serve/,
 * report pages and writing, cli/). A lower level may not import a higher one. Tests (and their
 * fixtures) sit above all of them: a kind's test may run its cells through loadExperiment.
 */
const EXP = "^experiments/src/";
const EXP_BASE = [
  "spec/(limits|schema|parse)\\.ts$",
  "results/",
  "run/(hash|sites|cell-errors)\\.ts$",
  "report/(html|charts|line-chart|heatmap|graph|comparison|summary)\\.ts$",
  "cli/table\\.ts$",
]
  .map((f) => EXP + f)
  .join("|");
const EXP_KIND = `${EXP}kinds/kind\\.ts$`;
const EXP_LIST = `${EXP}kinds/index\\.ts$`;
const EXP_TESTS = "\\.test\\.ts$|\\.fixture\\.ts$";
const experimentsRule = (name, comment, from, allowed) => ({
  name: `experiments-layer-${name}`,
  comment: `${comment} (ARCHITECTURE.md, Layers)`,
  severity: "error",
  from: { path: from, pathNot: EXP_TESTS },
  to: { path: EXP, pathNot: alt(allowed) },
});
const experimentsRules = [
  experimentsRule("base", "a base module imports only base modules", alt([EXP_BASE]), [EXP_BASE]),
  experimentsRule("kind", "kinds/kind.ts (the interface) imports only base modules", EXP_KIND, [EXP_BASE]),
  experimentsRule(
    "kinds",
    "a kind imports base modules, the interface and its own folder: not the list, another kind or the generic road",
    `${EXP}kinds/([^/]+)/`,
    [EXP_BASE, EXP_KIND, `${EXP}kinds/$1/`],
  ),
  experimentsRule(
    "list",
    "kinds/index.ts imports the kinds and what they import, not the generic road",
    EXP_LIST,
    [EXP_BASE, `${EXP}kinds/`],
  ),
];

const packageRules = PACKAGES.flatMap((level, i) => {
  const above = PACKAGES.slice(i + 1).flat();
  return level.flatMap((p) => {
    const siblings = level.filter((q) => q !== p);
    const forbidden = [...above, ...siblings];
    return forbidden.length === 0
      ? []
      : [
          {
            name: `package-layer-${p}`,
            comment: `${p} may not import ${forbidden.join(", ")} (layers: ${PACKAGES.map((l) => l.join("/")).join(" < ")})`,
            severity: "error",
            from: { path: pkgPath(p) },
            to: { path: alt(forbidden.map(pkgPath)) },
          },
        ];
  });
});

const coreRules = CORE.flatMap((level, i) => {
  const above = CORE.slice(i + 1).flat();
  return level.flatMap((f) => {
    const forbidden = [...above, ...level.filter((g) => g !== f)];
    return [
      {
        name: `core-layer-${f}`,
        comment: `core/src/${f} may not import ${forbidden.join(", ")} (ARCHITECTURE.md, Layers)`,
        severity: "error",
        from: { path: `^packages/core/src/${f}/` },
        to: { path: `^packages/core/src/${alt(forbidden)}/`, pathNot: TEST_HELPERS },
      },
    ];
  });
});

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      comment: "a module-level import cycle (tests and benches included)",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    {
      name: "core-index-only-from-outside",
      comment:
        "a core folder may not import the package index (packages/core/src/index.ts) or @patchbay/core",
      severity: "error",
      from: { path: "^packages/core/src/.+/" },
      to: { path: "^packages/core/src/index\\.ts$" },
    },
    {
      name: "core-public-api-only",
      comment:
        "other packages' code reaches core through its exports (the namespaces' subpaths, ./cli), never by a relative path into packages/core/src, which a published package cannot follow (tests and their fixtures may use core's test helpers)",
      severity: "error",
      from: { pathNot: "^packages/core/|\\.test\\.ts$|\\.fixture\\.ts$" },
      to: { path: "^packages/core/src/", pathNot: "^packages/core/src/testing/", dependencyTypes: ["local"] },
    },
    ...packageRules,
    ...coreRules,
    ...experimentsRules,
    {
      name: "not-resolvable",
      comment: "an import that does not resolve",
      severity: "error",
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "(^|/)(node_modules|dist)/" },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "default"],
      extensions: [".ts", ".mjs", ".js", ".json"],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
