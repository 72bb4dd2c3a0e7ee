import { InputError } from "@patchbay/core/errors";
import { lookupSite } from "@patchbay/core/sites";
import type { ModelConfig } from "@patchbay/core/model";

/**
 * The sites a cell's method names, checked against its model before anything runs: `site`,
 * `sites` and `targetSite` fields at any depth of the method (probe, steering, erasure's probe,
 * neuron records, SAEs, lenses, patchscopes, DAS, IIA sweeps and inline alignments). Both
 * spellings (patchbay and TransformerLens) are accepted, as everywhere.
 */
const SITE_KEYS = new Set(["site", "sites", "targetSite"]);

/** Every (field path, site name) in a method; `"resid"` (the IIA sweep's shorthand) is not a site. */
export const namedSites = (method: unknown, path = "method"): readonly (readonly [string, string])[] => {
  const out: [string, string][] = [];
  const walk = (v: unknown, at: string, key: string | null): void => {
    if (typeof v === "string") {
      if (key !== null && SITE_KEYS.has(key) && !(key === "sites" && v === "resid")) out.push([at, v]);
      return;
    }
    if (Array.isArray(v)) {
      for (const [i, x] of v.entries()) walk(x, `${at}[${i}]`, key);
      return;
    }
    if (typeof v === "object" && v !== null) for (const [k, x] of Object.entries(v)) walk(x, `${at}.${k}`, k);
  };
  walk(method, path, null);
  return out;
};

/** The first site of the method its model does not have, as an InputError with the nearest names. */
export const checkSites = (method: unknown, config: ModelConfig, where = ""): InputError | null => {
  for (const [field, site] of namedSites(method)) {
    const hit = lookupSite(config, site);
    if (!hit.ok)
      return new InputError({
        field: `${field}${where}`,
        expected: `a site of ${config.name} (nearest: ${hit.suggestions.join(", ")}; \`patchbay sites --model M\` lists them)`,
        found: JSON.stringify(site),
      });
  }
  return null;
};
