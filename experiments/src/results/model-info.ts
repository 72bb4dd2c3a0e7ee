/** The model a cell ran on: its name, the hash of its weights and its shape. */
export interface ModelInfo {
  readonly name: string;
  readonly weightsHash: string;
  readonly nLayers: number;
  readonly nHeads: number;
  /** For a `hf:` model: the repository, the revision asked for and the exact commit that ran. */
  readonly revision?: { readonly repo: string; readonly requested: string; readonly commit: string };
}

/** A model's shape for the result envelope, with the exact revision when the model came from the Hub (`hf:`). */
export const withRevision = <M extends object>(
  shape: M,
  model: { readonly revision?: ModelInfo["revision"] },
): M & { readonly revision?: ModelInfo["revision"] } =>
  model.revision === undefined ? shape : { ...shape, revision: model.revision };
