/**
 * Task files (JSONL clean/corrupted pairs; see ./FORMAT.md) and the builtins' task generators.
 */
export { type ReadTaskOptions, TaskLine } from "./line.ts";
export {
  MAX_FILE_BYTES,
  MAX_LINE_BYTES,
  parseTaskFile,
  readTaskFile,
  readTaskFileSync,
} from "./read.ts";
export { formatTaskFile, writeTaskFile, writeTaskFileSync } from "./write.ts";
export { builtinsWithTasks, type TaskForOptions, taskFor, writeBuiltinTask } from "./generate.ts";
