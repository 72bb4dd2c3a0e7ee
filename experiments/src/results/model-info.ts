/** The model a cell ran on: its name, the hash of its weights and its shape. */
export interface ModelInfo {
  readonly name: string;
  readonly weightsHash: string;
  readonly nLayers: number;
  readonly nHeads: number;
}
