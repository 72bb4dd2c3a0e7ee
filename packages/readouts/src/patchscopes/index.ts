export { decodePatchscopeSpec, decodeSweepSpec, Mapping, PatchscopeSpec, SiteAt, SweepSpec } from "./spec.ts";
export { applyMapping, checkMapping, translatorMapping } from "./mapping.ts";
export {
  continuationToken,
  type InspectionPrompt,
  inspectionPrompt,
  inspectionPrompts,
  tokenizePrompt,
} from "./prompts.ts";
export {
  type Endpoint,
  type PatchscopeExample,
  type PatchscopeExampleResult,
  type PatchscopeResult,
  runPatchscope,
} from "./patchscope.ts";
export { patchscopeSweep, type SourceExample, type SweepLayer, type SweepResult } from "./sweep.ts";
export { attributeExamples, entityExamples, storyAttributes, storyEntities } from "./stories.ts";
