/**
 * Models by name from the Hugging Face Hub: `hf:owner/name[@revision]` downloaded into (or found
 * in) the standard Hugging Face cache, shared with Python's huggingface_hub. Model loading
 * (`Weights.loadModel`, `Runtime.openModel`, the CLI, experiment files) accepts these paths; this
 * namespace is the download itself.
 */
export {
  cachedSnapshotSync,
  type DownloadOptions,
  downloadModel,
  type HubRevision,
  type HubSnapshot,
} from "./download.ts";
export { type HubModelPath, isHubPath, parseHubPath } from "./name.ts";
export { type HubSettings, hubSettings } from "./settings.ts";
