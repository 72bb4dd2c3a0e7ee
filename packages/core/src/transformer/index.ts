export {
  buildTransformerGraph,
  type BuildOptions,
  type TransformerGraph,
  INPUT_IDS,
  POSITIONS,
  ATTN_MASK,
} from "./build.ts";
export { type SiteHooks, leafName } from "./sites.ts";
