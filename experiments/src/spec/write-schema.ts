// Regenerate experiments/experiment.schema.json from the effect Schema:
//   npx tsx experiments/src/spec/write-schema.ts
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { formatJsonSchema } from "./json-schema.ts";

export const schemaFile = fileURLToPath(new URL("../../experiment.schema.json", import.meta.url));

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(schemaFile, formatJsonSchema());
  console.log(`wrote ${schemaFile}`);
}
