/**
 * `pnpm depcheck`: no module-level cycle anywhere (source, tests, benches), and no import against
 * the layer order written in ARCHITECTURE.md ("Layers"). Test files obey the same order; the one
 * exception is a package's test helpers (packages/core/src/testing/, `test-support.ts` files),
 * which any test may import.
 */

/** Packages, lowest first; a package may import only packages in earlier entries. */
const PACKAGES = [["core"], ["zoo"], ["circuits", "causal", "readouts"], ["experiments"]];

/** Folders of packages/core/src, lowest first; a folder may import only folders in earlier entries. */
const CORE = [
  ["tensor", "errors", "text"],
  ["model", "graph"],
  ["testing"],
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
    ...packageRules,
    ...coreRules,
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
    exclude: { path: "(^|/)node_modules/" },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "default"],
      extensions: [".ts", ".mjs", ".js", ".json"],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
