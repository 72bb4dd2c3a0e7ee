import type { VjpRule } from "../context.ts";
import { unbroadcast } from "../context.ts";

/**
 * Elementwise rules. With y = f(x) and ḡ = ∂L/∂y, each returns ∂L/∂x = ḡ · f′(x), summed back over
 * broadcast axes for binary ops.
 */
export const elementwiseRules: Record<string, VjpRule> = {
  // y = a + b:  ā = ḡ, b̄ = ḡ
  Add: ({ g, inputs: [a, b], gOut, needs }) => [
    needs[0] ? unbroadcast(g, gOut, a!) : null,
    needs[1] ? unbroadcast(g, gOut, b!) : null,
  ],
  // y = a − b:  ā = ḡ, b̄ = −ḡ
  Sub: ({ g, inputs: [a, b], gOut, needs }) => [
    needs[0] ? unbroadcast(g, gOut, a!) : null,
    needs[1] ? unbroadcast(g, g.neg(gOut), b!) : null,
  ],
  // y = a · b:  ā = ḡ·b, b̄ = ḡ·a
  Mul: ({ g, inputs: [a, b], gOut, needs }) => [
    needs[0] ? unbroadcast(g, g.mul(gOut, b!), a!) : null,
    needs[1] ? unbroadcast(g, g.mul(gOut, a!), b!) : null,
  ],
  // y = a / b:  ā = ḡ/b, b̄ = −ḡ·y/b
  Div: ({ g, inputs: [a, b], output, gOut, needs }) => [
    needs[0] ? unbroadcast(g, g.div(gOut, b!), a!) : null,
    needs[1] ? unbroadcast(g, g.neg(g.div(g.mul(gOut, output), b!)), b!) : null,
  ],
  // y = −x
  Neg: ({ g, gOut }) => [g.neg(gOut)],
  // y = √x:  x̄ = ḡ / (2y)
  Sqrt: ({ g, output, gOut }) => [g.div(g.mul(gOut, g.scalar(0.5)), output)],
  // y = eˣ:  x̄ = ḡ·y
  Exp: ({ g, output, gOut }) => [g.mul(gOut, output)],
  // y = log x:  x̄ = ḡ/x
  Log: ({ g, inputs: [x], gOut }) => [g.div(gOut, x!)],
  // y = tanh x:  x̄ = ḡ(1 − y²)
  Tanh: ({ g, output, gOut }) => [g.mul(gOut, g.sub(g.scalar(1), g.mul(output, output)))],
  // y = erf x:  x̄ = ḡ · (2/√π) e^{−x²}
  Erf: ({ g, inputs: [x], gOut }) => [
    g.mul(gOut, g.mul(g.exp(g.neg(g.mul(x!, x!))), g.scalar(2 / Math.sqrt(Math.PI)))),
  ],
  // y = σ(x):  x̄ = ḡ·y(1 − y)
  Sigmoid: ({ g, output, gOut }) => [g.mul(gOut, g.mul(output, g.sub(g.scalar(1), output)))],
  // y = max(0, x):  x̄ = ḡ where x > 0
  Relu: ({ g, inputs: [x], gOut }) => [g.where(g.greater(x!, g.scalar(0)), gOut, g.scalar(0))],
  // y = cos x:  x̄ = −ḡ sin x;   y = sin x:  x̄ = ḡ cos x
  Cos: ({ g, inputs: [x], gOut }) => [g.neg(g.mul(gOut, g.sin(x!)))],
  Sin: ({ g, inputs: [x], gOut }) => [g.mul(gOut, g.cos(x!))],
  Identity: ({ gOut }) => [gOut],
  // y = where(c, a, b):  ā = ḡ where c, b̄ = ḡ where ¬c; c has no gradient
  Where: ({ g, inputs: [c, a, b], gOut, needs }) => [
    null,
    needs[1] ? unbroadcast(g, g.where(c!, gOut, g.scalar(0)), a!) : null,
    needs[2] ? unbroadcast(g, g.where(c!, g.scalar(0), gOut), b!) : null,
  ],
};
