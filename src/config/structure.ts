/**
 * Turns schema violations into diagnostics that say what is wrong in the user's words and how
 * to fix it, located at the offending key or value.
 */
import { z } from "zod";
import { didYouMean } from "../util/suggest.ts";
import { configSchema } from "./schema.ts";
import type { Diagnostic, PathSegment, SourceLocator } from "./diagnostics.ts";

type Issue = z.core.$ZodIssue;

/** The schema node that validates the value at `path`, unwrapping defaults and optionals. */
function schemaAt(path: readonly PathSegment[]): z.ZodType | undefined {
  let schema: z.ZodType | undefined = configSchema;
  for (const segment of path) {
    schema = unwrap(schema);
    if (schema instanceof z.ZodObject) schema = (schema.shape as Record<string, z.ZodType>)[String(segment)];
    else if (schema instanceof z.ZodRecord) schema = schema.valueType as z.ZodType;
    else if (schema instanceof z.ZodArray) schema = schema.element as z.ZodType;
    else return undefined;
  }
  return unwrap(schema);
}

function unwrap(schema: z.ZodType | undefined): z.ZodType | undefined {
  let current = schema;
  while (current instanceof z.ZodDefault || current instanceof z.ZodPrefault || current instanceof z.ZodOptional) current = current.unwrap() as z.ZodType;
  return current;
}

function allowedKeys(path: readonly PathSegment[]): string[] {
  const schema = schemaAt(path);
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string") return `the string "${value.length > 40 ? `${value.slice(0, 40)}…` : value}"`;
  return `${typeof value === "number" ? "the number" : "the value"} ${String(value)}`;
}

const TYPE_WORDS: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "an integer",
  boolean: "true or false",
  object: "a mapping (key: value lines)",
  array: "a list (- item lines)",
  record: "a mapping (key: value lines)",
};

function valueAt(data: unknown, path: readonly PathSegment[]): unknown {
  let current = data;
  for (const segment of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<string, unknown>)[String(segment)];
  }
  return current;
}

function unionOptions(issue: Extract<Issue, { code: "invalid_union" }>): string {
  const options: string[] = [];
  for (const branch of issue.errors) {
    for (const inner of branch) {
      if (inner.code === "invalid_value") options.push(...inner.values.map((v) => JSON.stringify(v)));
      else if (inner.code === "invalid_type") options.push(TYPE_WORDS[inner.expected] ?? inner.expected);
    }
  }
  return [...new Set(options)].join(" or ");
}

export function structureDiagnostics(issues: readonly Issue[], data: unknown, locator: SourceLocator): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  for (const issue of issues) {
    const path = issue.path as PathSegment[];
    const value = valueAt(data, path);
    switch (issue.code) {
      case "unrecognized_keys": {
        const allowed = allowedKeys(path);
        for (const key of issue.keys) {
          const hint = didYouMean(key, allowed);
          diagnostics.push(
            locator.diagnostic(
              "error",
              [...path, key],
              `unknown key "${key}"${hint}`,
              hint ? `rename it to ${hint.slice(hint.indexOf('"'), hint.lastIndexOf('"') + 1)}` : `remove it; allowed here: ${allowed.join(", ")}`,
              "key",
            ),
          );
        }
        break;
      }
      case "invalid_type": {
        const expected = TYPE_WORDS[issue.expected] ?? issue.expected;
        if (value === undefined) {
          const key = path[path.length - 1];
          diagnostics.push(
            locator.diagnostic("error", path, `missing required key "${String(key)}"`, `add ${String(key)}: with ${expected}`),
          );
        } else {
          const custom = issue.message.startsWith("Invalid input") ? undefined : issue.message;
          diagnostics.push(locator.diagnostic("error", path, custom ? `${describeValue(value)} is not valid here` : `expected ${expected}, got ${describeValue(value)}`, custom ?? `write ${expected} here`));
        }
        break;
      }
      case "invalid_value": {
        const options = issue.values.map((v) => String(v));
        const hint = typeof value === "string" ? didYouMean(value, options) : "";
        diagnostics.push(
          locator.diagnostic("error", path, `${describeValue(value)} is not allowed${hint}`, `use one of: ${options.join(", ")}`),
        );
        break;
      }
      case "invalid_union":
        diagnostics.push(locator.diagnostic("error", path, `${describeValue(value)} is not valid here`, `write ${unionOptions(issue)}`));
        break;
      case "invalid_key": {
        const reason = issue.issues[0]?.message ?? issue.message;
        diagnostics.push(locator.diagnostic("error", path, `"${String(path[path.length - 1])}" is not a valid name`, reason, "key"));
        break;
      }
      case "too_small":
      case "too_big": {
        const bound = issue.code === "too_small" ? `at least ${issue.minimum}` : `at most ${issue.maximum}`;
        const message = issue.message.startsWith("Too") ? `${describeValue(value)} is out of range` : issue.message;
        diagnostics.push(locator.diagnostic("error", path, message, issue.origin === "array" ? `list ${bound} item(s)` : `use a value ${bound}`));
        break;
      }
      case "invalid_format":
        diagnostics.push(locator.diagnostic("error", path, `${describeValue(value)} is not valid`, issue.message));
        break;
      default:
        diagnostics.push(locator.diagnostic("error", path, issue.message.replace(/^Invalid input: /, "")));
    }
  }
  return diagnostics;
}
