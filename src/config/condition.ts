/**
 * The condition language of flowchart edges: a small JSON (or YAML) structure tested against the
 * result of the node an edge leaves. It is data, never code — no expressions, no eval, no regular
 * expressions (nothing a user writes can take the worker's time) — and it is checked completely
 * when the flowchart is enqueued, so a bad condition never reaches a worker.
 *
 *   { path: result.status, equals: ok }          deep equality with any JSON value
 *   { path: result.status, in: [ok, degraded] }   equal to one of the values
 *   { path: result.error, exists: false }         the path leads to a value (null counts) / does not
 *   { path: result.count, gt: 0 }                 gt, gte, lt, lte: numbers only
 *   { path: result.tags, contains: prod }         a string containing a string, or a list containing a value
 *   { not: C }   { all: [C, …] }   { any: [C, …] }
 *
 * A path starts at `result` and goes on with `.key` or `[index]` steps; a step that does not exist
 * makes the value missing, and every comparison with a missing value is false.
 */
import { z } from "zod";

export const CONDITION_PATH = /^result(?:\.[A-Za-z0-9_-]+|\[\d+\])*$/;
/** How deeply not/all/any may nest; deeper is refused at enqueue. */
export const MAX_CONDITION_DEPTH = 8;

const LEAF_OPERATORS = ["equals", "in", "exists", "gt", "gte", "lt", "lte", "contains"] as const;
const COMPOSITE_OPERATORS = ["not", "all", "any"] as const;
const OPERATORS = [...LEAF_OPERATORS, ...COMPOSITE_OPERATORS];

export interface Condition {
  path?: string;
  equals?: unknown;
  in?: unknown[];
  exists?: boolean;
  gt?: number;
  gte?: number;
  lt?: number;
  lte?: number;
  contains?: unknown;
  not?: Condition;
  all?: Condition[];
  any?: Condition[];
}

function operatorsOf(condition: Condition): string[] {
  return OPERATORS.filter((operator) => operator in condition && condition[operator as keyof Condition] !== undefined);
}

function depthOf(condition: Condition): number {
  const children = [...(condition.not ? [condition.not] : []), ...(condition.all ?? []), ...(condition.any ?? [])];
  return 1 + Math.max(0, ...children.map(depthOf));
}

export const conditionSchema: z.ZodType<Condition> = z
  .strictObject({
    path: z.string().regex(CONDITION_PATH, "a path starts at result and goes on with .key or [index], e.g. result.hosts[0].status").max(500).optional().describe("where in the node's result to look, e.g. result.status"),
    equals: z.unknown().optional().describe("the value must equal this (any JSON value)"),
    in: z.array(z.unknown()).min(1).max(100).optional().describe("the value must equal one of these"),
    exists: z.boolean().optional().describe("true: the path leads to a value; false: it does not"),
    gt: z.number().optional().describe("the value is a number greater than this"),
    gte: z.number().optional().describe("the value is a number greater than or equal to this"),
    lt: z.number().optional().describe("the value is a number less than this"),
    lte: z.number().optional().describe("the value is a number less than or equal to this"),
    contains: z.unknown().optional().describe("the value is a string containing this string, or a list containing this value"),
    get not() {
      return conditionSchema.optional().describe("true when this condition is false");
    },
    get all() {
      return z.array(conditionSchema).min(1).max(20).optional().describe("true when every condition is true");
    },
    get any() {
      return z.array(conditionSchema).min(1).max(20).optional().describe("true when at least one condition is true");
    },
  })
  .superRefine((condition, context) => {
    const operators = operatorsOf(condition);
    if (operators.length !== 1) {
      context.addIssue({
        code: "custom",
        message: `a condition has exactly one operator (${OPERATORS.join(", ")}); this one has ${operators.length ? operators.join(" and ") : "none"}`,
      });
      return;
    }
    const isLeaf = (LEAF_OPERATORS as readonly string[]).includes(operators[0]!);
    if (isLeaf && condition.path === undefined) context.addIssue({ code: "custom", path: ["path"], message: `"${operators[0]}" needs a path, e.g. path: result.status` });
    if (!isLeaf && condition.path !== undefined) context.addIssue({ code: "custom", path: ["path"], message: `"${operators[0]}" combines other conditions; put the path inside them` });
  })
  .meta({ id: "condition", description: "a test of the previous node's result: { path, equals | in | exists | gt | gte | lt | lte | contains }, or not / all / any of conditions" });

/** The condition schema with the nesting bound (checked once at the top, not at every level). */
export const edgeConditionSchema = conditionSchema.refine((condition) => depthOf(condition) <= MAX_CONDITION_DEPTH, `conditions nest at most ${MAX_CONDITION_DEPTH} levels deep`);

const MISSING = Symbol("missing");

/** The value at `path` ("result.a[0].b") in the subject, or MISSING. Only own properties count, so "result.constructor" is missing. */
function resolvePath(subject: { result: unknown }, path: string): unknown {
  let value: unknown = subject.result;
  for (const [, key, index] of path.slice("result".length).matchAll(/\.([A-Za-z0-9_-]+)|\[(\d+)\]/g)) {
    const step = key ?? index!;
    if (Array.isArray(value) && /^\d+$/.test(step)) value = Number(step) < value.length ? value[Number(step)] : MISSING;
    else if (value !== null && typeof value === "object" && !Array.isArray(value) && Object.hasOwn(value, step)) value = (value as Record<string, unknown>)[step];
    else return MISSING;
    if (value === undefined) return MISSING;
  }
  return value;
}

function compare(value: unknown, operand: number, test: (a: number, b: number) => boolean): boolean {
  return typeof value === "number" && test(value, operand);
}

export function evaluateCondition(condition: Condition, subject: { result: unknown }): boolean {
  if (condition.not) return !evaluateCondition(condition.not, subject);
  if (condition.all) return condition.all.every((inner) => evaluateCondition(inner, subject));
  if (condition.any) return condition.any.some((inner) => evaluateCondition(inner, subject));
  const value = resolvePath(subject, condition.path ?? "result");
  if (condition.exists !== undefined) return (value !== MISSING) === condition.exists;
  if (value === MISSING) return false;
  if ("equals" in condition && condition.equals !== undefined) return Bun.deepEquals(value, condition.equals);
  if (condition.in) return condition.in.some((candidate) => Bun.deepEquals(value, candidate));
  if (condition.gt !== undefined) return compare(value, condition.gt, (a, b) => a > b);
  if (condition.gte !== undefined) return compare(value, condition.gte, (a, b) => a >= b);
  if (condition.lt !== undefined) return compare(value, condition.lt, (a, b) => a < b);
  if (condition.lte !== undefined) return compare(value, condition.lte, (a, b) => a <= b);
  if (condition.contains !== undefined) {
    if (typeof value === "string") return typeof condition.contains === "string" && value.includes(condition.contains);
    return Array.isArray(value) && value.some((item) => Bun.deepEquals(item, condition.contains));
  }
  return false;
}

function showValue(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 59)}…` : text;
}

/** The condition as a sentence: `result.status equals "ok"`, `not (result.count > 0)`. */
export function describeCondition(condition: Condition): string {
  if (condition.not) return `not (${describeCondition(condition.not)})`;
  if (condition.all) return condition.all.length === 1 ? describeCondition(condition.all[0]!) : `(${condition.all.map(describeCondition).join(" and ")})`;
  if (condition.any) return condition.any.length === 1 ? describeCondition(condition.any[0]!) : `(${condition.any.map(describeCondition).join(" or ")})`;
  const path = condition.path ?? "result";
  if (condition.exists !== undefined) return `${path} ${condition.exists ? "exists" : "does not exist"}`;
  if ("equals" in condition && condition.equals !== undefined) return `${path} equals ${showValue(condition.equals)}`;
  if (condition.in) return `${path} is one of ${showValue(condition.in)}`;
  if (condition.gt !== undefined) return `${path} > ${condition.gt}`;
  if (condition.gte !== undefined) return `${path} >= ${condition.gte}`;
  if (condition.lt !== undefined) return `${path} < ${condition.lt}`;
  if (condition.lte !== undefined) return `${path} <= ${condition.lte}`;
  return `${path} contains ${showValue(condition.contains)}`;
}

/** What the subject held where a simple condition looked ("result.status is \"degraded\""); undefined for not/all/any. */
export function observedValue(condition: Condition, subject: { result: unknown }): string | undefined {
  if (condition.path === undefined) return undefined;
  const value = resolvePath(subject, condition.path);
  return value === MISSING ? `${condition.path} is missing` : `${condition.path} is ${showValue(value)}`;
}
