/**
 * The site catalogue: every activation a plan can capture or change, its dimension names, its
 * TransformerLens hook name and its shape for a given model. The code lives with the other model
 * contracts (../model/sites.ts); this is its public entry point (`@patchbay/core/sites`).
 */
export {
  type SiteInfo,
  type SiteLookup,
  siteCatalog,
  siteShape,
  dimSizes,
  lookupSite,
} from "../model/sites.ts";
