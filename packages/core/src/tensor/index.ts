export { type HostTensor, numel, tensor, zeros, shapeString, sameShape } from "./host-tensor.ts";
