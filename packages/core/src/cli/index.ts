export * from "./table.ts";
export {
  checkChoices,
  choice,
  intFlag,
  numberFlag,
  openOptions,
  parseFlags,
  required,
  UsageError,
} from "./args.ts";
