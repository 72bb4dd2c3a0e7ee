/**
 * The discovery methods by tag (the `_tag`s of `Method`, discover.ts) and ACDC's parent orders. Plain
 * lists, importable without the engine: the CLI's usage and its choice errors read them, and the
 * Schemas are built from (or tested against) them.
 */
export const METHOD_TAGS = ["eap", "eap-ig-inputs", "eap-ig-activations", "exact", "acdc"] as const;

export const ACDC_ORDERS = ["normal", "reverse", "random"] as const;
