/**
 * Checks of a task graph that need nothing but the graph: unique node ids, edges between known
 * nodes, no cycle. They run on raw input (every access guarded), so `config validate` reports them
 * beside schema errors, and the producer runs the same ones on a flowchart sent inline.
 */
import { didYouMean } from "../util/suggest.ts";
import type { PathSegment } from "./diagnostics.ts";

export interface GraphProblem {
  /** Where in the flowchart: ["edges", 2, "to"]. */
  path: PathSegment[];
  message: string;
  fix?: string;
}

/**
 * A cycle among nodes that each run after the nodes in `after`, as the ids along it in dependency
 * order ("a" runs after "c", which runs after "b", which runs after "a": [a, c, b, a]); undefined
 * when there is none.
 */
export function findCycle(nodes: ReadonlyArray<{ id: string; after: readonly string[] }>): string[] | undefined {
  const byId = new Map(nodes.map((node) => [node.id, node]));
  const state = new Map<string, "visiting" | "done">();
  const path: string[] = [];
  const visit = (id: string): string[] | undefined => {
    if (state.get(id) === "done") return undefined;
    if (state.get(id) === "visiting") return [...path.slice(path.indexOf(id)), id];
    state.set(id, "visiting");
    path.push(id);
    for (const dependency of byId.get(id)?.after ?? []) {
      const cycle = visit(dependency);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(id, "done");
    return undefined;
  };
  for (const node of nodes) {
    const cycle = visit(node.id);
    if (cycle) return cycle;
  }
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** Every graph problem of a flowchart ({ nodes: [{ id }], edges: [{ from, to }] }), in the order they appear. */
export function flowchartProblems(flowchart: unknown): GraphProblem[] {
  if (!isRecord(flowchart) || !Array.isArray(flowchart.nodes)) return [];
  const problems: GraphProblem[] = [];
  const indexOf = new Map<string, number>();
  flowchart.nodes.forEach((node, index) => {
    if (!isRecord(node) || typeof node.id !== "string") return;
    const first = indexOf.get(node.id);
    if (first !== undefined) problems.push({ path: ["nodes", index, "id"], message: `node id "${node.id}" is used by nodes[${first}] already`, fix: "give each node its own id" });
    else indexOf.set(node.id, index);
  });
  const edges = Array.isArray(flowchart.edges) ? flowchart.edges : [];
  const known = (edge: Record<string, unknown>, end: "from" | "to", index: number): string | undefined => {
    const id = edge[end];
    if (typeof id !== "string") return undefined;
    if (indexOf.has(id)) return id;
    problems.push({ path: ["edges", index, end], message: `edge ${end} "${id}", which is not a node${didYouMean(id, indexOf.keys())}`, fix: `nodes: ${[...indexOf.keys()].join(", ")}` });
    return undefined;
  };
  const edgeAt = new Map<string, number>();
  const after = new Map<string, string[]>([...indexOf.keys()].map((id) => [id, []]));
  edges.forEach((edge, index) => {
    if (!isRecord(edge)) return;
    const from = known(edge, "from", index);
    const to = known(edge, "to", index);
    if (from === undefined || to === undefined) return;
    if (from === to) {
      problems.push({ path: ["edges", index, "to"], message: `an edge from "${from}" to itself`, fix: "a node cannot run after itself" });
      return;
    }
    const key = `${from}\u0000${to}`;
    const first = edgeAt.get(key);
    if (first !== undefined) {
      problems.push({ path: ["edges", index], message: `a second edge from "${from}" to "${to}" (the first is edges[${first}])`, fix: "keep one edge; combine conditions with all: or any:" });
      return;
    }
    edgeAt.set(key, index);
    after.get(to)!.push(from);
  });
  const cycle = findCycle([...after].map(([id, dependencies]) => ({ id, after: dependencies })));
  if (cycle) {
    // Shown in the direction the flowchart runs; the edge that closes the circle is the one named.
    const flow = [...cycle].reverse();
    const closing = edgeAt.get(`${flow.at(-2)}\u0000${flow.at(-1)}`)!;
    problems.push({ path: ["edges", closing], message: `the edges form a cycle: ${flow.join(" → ")}`, fix: "a flowchart must be acyclic: remove one of these edges" });
  }
  return problems;
}
