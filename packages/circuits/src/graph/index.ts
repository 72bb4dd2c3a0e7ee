export {
  type Circuit,
  type Scores,
  checkInGraph,
  checkScores,
  edgeCount,
  edgeIndices,
  edgeNames,
  emptyCircuit,
  fullCircuit,
} from "./circuit.ts";
export {
  type ComponentEdgeAttributes,
  type ComponentGraph,
  type ComponentGraphOptions,
  type ComponentNodeAttributes,
  componentGraph,
} from "./component-graph.ts";
export {
  type Component,
  type ComponentKind,
  type Topology,
  reachability,
  topology,
  touchedComponents,
} from "./topology.ts";
