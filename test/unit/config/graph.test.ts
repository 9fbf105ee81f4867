import { describe, expect, it } from "bun:test";
import { findCycle, flowchartProblems } from "../../../src/config/graph.ts";

const nodes = (...ids: string[]) => ids.map((id) => ({ id, task: "llmctl.ping" }));
const edge = (from: string, to: string) => ({ from, to });

describe("flowchart graph checks", () => {
  it("finds nothing wrong with a diamond", () => {
    expect(flowchartProblems({ nodes: nodes("a", "b", "c", "d"), edges: [edge("a", "b"), edge("a", "c"), edge("b", "d"), edge("c", "d")] })).toEqual([]);
    expect(flowchartProblems({ nodes: nodes("solo") })).toEqual([]);
  });

  it("names duplicate ids, edges to unknown nodes (with a suggestion), self edges and repeated edges", () => {
    expect(flowchartProblems({ nodes: nodes("a", "b", "a"), edges: [] })).toEqual([{ path: ["nodes", 2, "id"], message: 'node id "a" is used by nodes[0] already', fix: "give each node its own id" }]);
    const problems = flowchartProblems({ nodes: nodes("check", "deploy"), edges: [edge("check", "deplyo"), edge("chek", "deploy"), edge("deploy", "deploy"), edge("check", "deploy"), edge("check", "deploy")] });
    expect(problems.map((problem) => [problem.path.join("."), problem.message])).toEqual([
      ["edges.0.to", 'edge to "deplyo", which is not a node (did you mean "deploy"?)'],
      ["edges.1.from", 'edge from "chek", which is not a node (did you mean "check"?)'],
      ["edges.2.to", 'an edge from "deploy" to itself'],
      ["edges.4", 'a second edge from "check" to "deploy" (the first is edges[3])'],
    ]);
  });

  it("names the edge that closes a cycle, and the cycle in the direction the flowchart runs", () => {
    const problems = flowchartProblems({ nodes: nodes("start", "a", "b", "c"), edges: [edge("start", "a"), edge("a", "b"), edge("b", "c"), edge("c", "a")] });
    expect(problems).toHaveLength(1);
    expect(problems[0]!.message).toBe("the edges form a cycle: a → b → c → a");
    expect(problems[0]!.path).toEqual(["edges", 3]);
  });

  it("ignores what the schema reports (missing or mistyped fields) instead of failing on it", () => {
    expect(flowchartProblems(null)).toEqual([]);
    expect(flowchartProblems({ nodes: [null, { id: 3 }, { id: "a" }], edges: [null, { from: "a" }, { from: 1, to: "a" }] })).toEqual([]);
  });

  it("finds cycles in dependency lists", () => {
    expect(findCycle([{ id: "a", after: [] }, { id: "b", after: ["a"] }])).toBeUndefined();
    expect(findCycle([{ id: "a", after: ["b"] }, { id: "b", after: ["a"] }])).toEqual(["a", "b", "a"]);
  });
});
