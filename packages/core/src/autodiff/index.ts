export { gradients, gradName, type GradientGraph } from "./grad.ts";
export { NoGradientRule } from "./context.ts";
