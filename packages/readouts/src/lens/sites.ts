import { InputError } from "@patchbay/core/errors";
import { lookupSite } from "@patchbay/core/sites";
import type { ModelConfig } from "@patchbay/core/model";

/**
 * Which sites a lens may read: the residual stream, [batch, pos, d_model], i.e. resid_pre,
 * resid_mid and resid_post of each block. The lens decodes a site through the model's own final
 * norm and unembedding by writing it into `finalSite` (the residual the final norm reads).
 */
const RESIDUAL = /^blocks\.\d+\.(resid_pre|resid_mid|resid_post)$/;

/**
 * The residual stream the final norm reads: resid_post of the last block.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { inductionModel } from "@patchbay/zoo";
 * import { finalSite } from "@patchbay/readouts";
 *
 * assert.equal(finalSite(inductionModel().config), "blocks.1.resid_post");
 * ```
 */
export const finalSite = (c: ModelConfig): string => `blocks.${c.nLayers - 1}.resid_post`;

/**
 * The default lens sites: the embedding (blocks.0.resid_pre) and resid_post of every layer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { inductionModel } from "@patchbay/zoo";
 * import { defaultLensSites } from "@patchbay/readouts";
 *
 * assert.deepEqual(defaultLensSites(inductionModel().config), ["blocks.0.resid_pre", "blocks.0.resid_post", "blocks.1.resid_post"]);
 * ```
 */
export const defaultLensSites = (c: ModelConfig): string[] => [
  "blocks.0.resid_pre",
  ...Array.from({ length: c.nLayers }, (_, l) => `blocks.${l}.resid_post`),
];

/**
 * Canonical names of the requested lens sites; anything else is an InputError naming it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { inductionModel } from "@patchbay/zoo";
 * import { resolveLensSites } from "@patchbay/readouts";
 *
 * const c = inductionModel().config;
 * assert.deepEqual(resolveLensSites(c, ["blocks.1.resid_pre"]), ["blocks.1.resid_pre"]);
 * assert.throws(() => resolveLensSites(c, ["blocks.9.resid_pre"]));
 * ```
 */
export const resolveLensSites = (
  c: ModelConfig,
  sites: readonly string[] | undefined,
  field = "sites",
): string[] => {
  const asked = sites ?? defaultLensSites(c);
  if (asked.length === 0) throw new InputError({ field, expected: "at least one site", found: "[]" });
  const out = asked.map((name, i) => {
    const hit = lookupSite(c, name);
    if (!hit.ok)
      throw new InputError({
        field: `${field}[${i}]`,
        expected: `a residual-stream site of ${c.name} (nearest: ${hit.suggestions.join(", ")})`,
        found: JSON.stringify(name),
      });
    if (!RESIDUAL.test(hit.site.name))
      throw new InputError({
        field: `${field}[${i}]`,
        expected: "a residual-stream site (blocks.L.resid_pre / resid_mid / resid_post)",
        found: JSON.stringify(name),
      });
    return hit.site.name;
  });
  const dup = out.find((s, i) => out.indexOf(s) !== i);
  if (dup !== undefined) throw new InputError({ field, expected: "distinct sites", found: `${dup} twice` });
  return out;
};
