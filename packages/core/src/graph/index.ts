/** The op-level IR (`Graph`, `Value`, `Node`), `GraphBuilder` with shape inference, and its ONNX lowering. */
export type { DType, Dim, Value, Attr, Node, Graph, Initializer, InitData } from "./ir.ts";
export { GraphBuilder } from "./builder.ts";
export { ShapeMismatch } from "./shapes.ts";
export { toOnnx, OPSET, type ExternalFile, type LoweredModel, type LowerOptions } from "./onnx.ts";
