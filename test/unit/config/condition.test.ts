import { describe, expect, it } from "bun:test";
import { conditionSchema, describeCondition, edgeConditionSchema, evaluateCondition, observedValue, type Condition } from "../../../src/config/condition.ts";

const result = {
  status: "ok",
  count: 3,
  ratio: 0.5,
  error: null,
  tags: ["prod", "eu"],
  message: "deployed 3 hosts",
  hosts: [{ name: "web01", healthy: true }, { name: "web02", healthy: false }],
  nested: { deep: { value: 7 } },
};
const holds = (condition: Condition, subject: unknown = result) => evaluateCondition(condition, { result: subject });

function refusal(condition: unknown): string[] {
  const parsed = edgeConditionSchema.safeParse(condition);
  if (parsed.success) throw new Error(`expected ${JSON.stringify(condition)} to be refused`);
  return parsed.error.issues.map((issue) => `${issue.path.join(".") || "(condition)"}: ${issue.message}`);
}

describe("evaluating conditions", () => {
  it("compares with equals (deep), in, and the numeric operators", () => {
    expect(holds({ path: "result.status", equals: "ok" })).toBe(true);
    expect(holds({ path: "result.status", equals: "OK" })).toBe(false);
    expect(holds({ path: "result.tags", equals: ["prod", "eu"] })).toBe(true);
    expect(holds({ path: "result.nested", equals: { deep: { value: 7 } } })).toBe(true);
    expect(holds({ path: "result.error", equals: null })).toBe(true);
    expect(holds({ path: "result.status", in: ["degraded", "ok"] })).toBe(true);
    expect(holds({ path: "result.status", in: ["degraded"] })).toBe(false);
    expect(holds({ path: "result.count", gt: 2 })).toBe(true);
    expect(holds({ path: "result.count", gt: 3 })).toBe(false);
    expect(holds({ path: "result.count", gte: 3 })).toBe(true);
    expect(holds({ path: "result.ratio", lt: 1 })).toBe(true);
    expect(holds({ path: "result.ratio", lte: 0.4 })).toBe(false);
    // Numbers only: a numeric string is not a number.
    expect(holds({ path: "result.count", gt: 2 }, { count: "3" })).toBe(false);
  });

  it("tests presence with exists, where null counts as present", () => {
    expect(holds({ path: "result.error", exists: true })).toBe(true);
    expect(holds({ path: "result.missing", exists: true })).toBe(false);
    expect(holds({ path: "result.missing", exists: false })).toBe(true);
    expect(holds({ path: "result", exists: true }, null)).toBe(true);
  });

  it("finds substrings and list members with contains", () => {
    expect(holds({ path: "result.message", contains: "3 hosts" })).toBe(true);
    expect(holds({ path: "result.tags", contains: "eu" })).toBe(true);
    expect(holds({ path: "result.tags", contains: "us" })).toBe(false);
    expect(holds({ path: "result.hosts", contains: { name: "web02", healthy: false } })).toBe(true);
    expect(holds({ path: "result.count", contains: 3 })).toBe(false);
  });

  it("follows .key and [index] steps, and treats anything missing as false", () => {
    expect(holds({ path: "result.hosts[1].healthy", equals: false })).toBe(true);
    expect(holds({ path: "result.hosts.0.name", equals: "web01" })).toBe(true);
    expect(holds({ path: "result.nested.deep.value", gte: 7 })).toBe(true);
    expect(holds({ path: "result.hosts[5].name", equals: "web01" })).toBe(false);
    expect(holds({ path: "result.status.length", gt: 0 })).toBe(false);
    expect(holds({ path: "result.nothing", equals: null })).toBe(false);
    expect(holds({ path: "result.nothing", lt: 1 })).toBe(false);
    // Only the result's own data: nothing reaches the prototype.
    expect(holds({ path: "result.constructor", exists: true })).toBe(false);
    expect(holds({ path: "result.tags.length", exists: true })).toBe(false);
  });

  it("combines with not, all and any", () => {
    expect(holds({ not: { path: "result.status", equals: "ok" } })).toBe(false);
    expect(holds({ all: [{ path: "result.status", equals: "ok" }, { path: "result.count", gt: 1 }] })).toBe(true);
    expect(holds({ all: [{ path: "result.status", equals: "ok" }, { path: "result.count", gt: 5 }] })).toBe(false);
    expect(holds({ any: [{ path: "result.status", equals: "down" }, { path: "result.tags", contains: "prod" }] })).toBe(true);
    expect(holds({ any: [{ path: "result.status", equals: "down" }, { not: { path: "result.error", exists: true } }] })).toBe(false);
  });

  it("describes a condition and the value it looked at", () => {
    expect(describeCondition({ path: "result.status", equals: "ok" })).toBe('result.status equals "ok"');
    expect(describeCondition({ not: { any: [{ path: "result.count", gt: 0 }, { path: "result.error", exists: false }] } })).toBe("not ((result.count > 0 or result.error does not exist))");
    expect(describeCondition({ path: "result.status", in: ["ok", "degraded"] })).toBe('result.status is one of ["ok","degraded"]');
    expect(observedValue({ path: "result.status", equals: "ok" }, { result: { status: "degraded" } })).toBe('result.status is "degraded"');
    expect(observedValue({ path: "result.status", equals: "ok" }, { result: {} })).toBe("result.status is missing");
    expect(observedValue({ not: { path: "result.status", equals: "ok" } }, { result: {} })).toBeUndefined();
  });
});

describe("the condition schema", () => {
  it("accepts every operator, nested", () => {
    const condition = { all: [{ path: "result.a", equals: { x: [1] } }, { any: [{ path: "result.b[0]", in: [1, "1"] }, { not: { path: "result.c", exists: true } }] }, { path: "result.d", contains: "x" }, { path: "result.e", lte: 2 }] };
    expect(conditionSchema.parse(condition)).toEqual(condition);
    expect(conditionSchema.parse({ path: "result", equals: null })).toEqual({ path: "result", equals: null });
  });

  it("refuses conditions with no operator, two operators, or a misplaced path, naming where", () => {
    expect(refusal({ path: "result.status" })[0]).toContain("a condition has exactly one operator");
    expect(refusal({ path: "result.status", equals: "ok", gt: 1 })[0]).toContain("this one has equals and gt");
    expect(refusal({ equals: "ok" })).toEqual(['path: "equals" needs a path, e.g. path: result.status']);
    expect(refusal({ path: "result.x", not: { path: "result.y", exists: true } })[0]).toContain('"not" combines other conditions');
    expect(refusal({ all: [{ path: "result.a", equals: 1 }, { path: "result.b" }] })[0]).toStartWith("all.1: a condition has exactly one operator");
  });

  it("refuses paths outside the result, unknown operators, wrong operand types and deep nesting", () => {
    for (const path of ["status", "result..x", "result.a b", "result[x]", "results.x", "$.result"]) expect(refusal({ path, equals: 1 })[0]).toStartWith("path: a path starts at result");
    expect(refusal({ path: "result.x", matches: "a.*" })[0]).toContain('Unrecognized key: "matches"');
    expect(refusal({ path: "result.x", gt: "5" })[0]).toStartWith("gt:");
    expect(refusal({ path: "result.x", in: [] })[0]).toStartWith("in:");
    let deep: Condition = { path: "result", exists: true };
    for (let level = 0; level < 8; level++) deep = { not: deep };
    expect(refusal(deep)).toEqual(["(condition): conditions nest at most 8 levels deep"]);
  });
});
