import { JSONSchema } from "effect";
import { AnyExperiment } from "./schema.ts";

/**
 * The JSON Schema of experiment files, generated from the effect Schema (the encoded side: what
 * is written in the file). Committed as experiments/experiment.schema.json (a test keeps it
 * current; regenerate with `pnpm experiment-schema`), referenced by the examples for editors.
 */
export const experimentJsonSchema = (): object => JSONSchema.make(AnyExperiment);

export const formatJsonSchema = (): string => `${JSON.stringify(experimentJsonSchema(), null, 2)}\n`;
