export type { DType, Dim, Value, Attr, Node, Graph, Initializer, InitData } from "./ir.ts";
export { GraphBuilder } from "./builder.ts";
export { ShapeMismatch, broadcast } from "./shapes.ts";
export { toOnnx, OPSET, type LoweredModel, type LowerOptions } from "./onnx.ts";
