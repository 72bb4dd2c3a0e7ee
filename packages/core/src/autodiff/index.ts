/** Reverse-mode autodiff over the IR: `gradients` appends the backward pass to the same graph. */
export { gradients, gradName, type GradientGraph } from "./grad.ts";
export { NoGradientRule } from "./context.ts";
