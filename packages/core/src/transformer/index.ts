/** The forward pass as IR: every activation passes through a site, where a plan's hooks reach in. */
export {
  buildTransformerGraph,
  type BuildOptions,
  type TransformerGraph,
  INPUT_IDS,
  POSITIONS,
  ATTN_MASK,
  FROM_RESID,
  type ForwardStart,
} from "./build.ts";
export type { SiteHooks } from "./sites.ts";
