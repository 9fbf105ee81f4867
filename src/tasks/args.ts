/**
 * Argument schemas. Built-in and module tasks declare zod schemas; command tasks declare
 * arguments in YAML, which become zod schemas here, so validation and the JSON Schema the
 * studio's form is generated from come from one place.
 */
import { z } from "zod";
import type { ArgSpec } from "../config/schema.ts";
import type { TaskDefinition } from "./define.ts";

function scalarSchema(type: "string" | "integer" | "number" | "boolean", spec: ArgSpec): z.ZodType {
  if (type === "boolean") return z.boolean();
  if (type === "string") {
    let schema = z.string();
    if (spec.pattern) schema = schema.regex(new RegExp(`^(?:${spec.pattern})$`), `must match ${spec.pattern}`);
    if (spec.min !== undefined) schema = schema.min(spec.min);
    if (spec.max !== undefined) schema = schema.max(spec.max);
    if (spec.enum) return z.enum(spec.enum.map(String) as [string, ...string[]]);
    return schema;
  }
  let schema = type === "integer" ? z.number().int() : z.number();
  if (spec.min !== undefined) schema = schema.min(spec.min);
  if (spec.max !== undefined) schema = schema.max(spec.max);
  if (spec.enum) {
    const allowed = spec.enum.map(Number);
    return schema.refine((value) => allowed.includes(value), `must be one of ${allowed.join(", ")}`);
  }
  return schema;
}

export function argSpecToSchema(spec: ArgSpec): z.ZodType {
  let schema: z.ZodType;
  if (spec.type === "array") {
    schema = z.array(scalarSchema(spec.items ?? "string", { ...spec, min: undefined, max: undefined }));
    if (spec.min !== undefined) schema = (schema as z.ZodArray<z.ZodType>).min(spec.min);
    if (spec.max !== undefined) schema = (schema as z.ZodArray<z.ZodType>).max(spec.max);
  } else {
    schema = scalarSchema(spec.type, spec);
  }
  if (spec.description) schema = schema.describe(spec.description);
  if (spec.default !== undefined) return schema.default(spec.default as never);
  return spec.required ? schema : schema.optional();
}

export function argSpecsToSchema(specs: Record<string, ArgSpec>): z.ZodObject {
  const shape: Record<string, z.ZodType> = {};
  for (const [name, spec] of Object.entries(specs)) shape[name] = argSpecToSchema(spec);
  return z.strictObject(shape);
}

/** The JSON Schema of a task's arguments; tasks without a schema take any object. */
export function argsJsonSchema(task: TaskDefinition): Record<string, unknown> {
  if (!task.args) return { type: "object", additionalProperties: true };
  const { $schema: _ignored, ...schema } = z.toJSONSchema(task.args, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
  return schema;
}

export interface ArgsProblem {
  /** Dotted path of the argument at fault, e.g. "packages[1]". */
  field: string;
  message: string;
}

/** Validates arguments; returns the parsed value (defaults applied) or every problem. */
export function validateArgs(task: TaskDefinition, args: unknown): { ok: true; value: Record<string, unknown> } | { ok: false; problems: ArgsProblem[] } {
  if (args === null || typeof args !== "object" || Array.isArray(args)) {
    return { ok: false, problems: [{ field: "args", message: "arguments must be an object of name: value" }] };
  }
  if (!task.args) return { ok: true, value: args as Record<string, unknown> };
  // reportInput: without it zod leaves `input` out of every issue, and a wrong type would read as "required".
  const parsed = task.args.safeParse(args, { reportInput: true });
  if (parsed.success) return { ok: true, value: parsed.data as Record<string, unknown> };
  return {
    ok: false,
    problems: parsed.error.issues.flatMap((issue) => {
      const path = issue.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("").replace(/^\./, "");
      if (issue.code === "unrecognized_keys") return issue.keys.map((key) => ({ field: path ? `${path}.${key}` : key, message: "unknown argument" }));
      const message = issue.code === "invalid_type" && issue.input === undefined ? "required" : issue.message.replace(/^Invalid input: /, "");
      return [{ field: path || "args", message }];
    }),
  };
}

export function describeArgsProblems(task: string, problems: ArgsProblem[]): string {
  return `invalid arguments for ${task}: ${problems.map((p) => `${p.field}: ${p.message}`).join("; ")}`;
}
