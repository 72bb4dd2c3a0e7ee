import { METHOD_TAGS } from "../methods/names.ts";

/** --method: the discovery methods' tags, with `eap-ig` (the default) for `eap-ig-inputs`. */
export const CIRCUIT_METHODS: readonly ("eap-ig" | (typeof METHOD_TAGS)[number])[] = METHOD_TAGS.flatMap(
  (t) => (t === "eap-ig-inputs" ? (["eap-ig", t] as const) : [t]),
);
