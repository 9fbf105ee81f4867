/**
 * Task arguments from a command line: `--data JSON`, `name=value` words, and bare words that
 * fill the task's positional arguments in order (the Celeryroot form `task install nginx`).
 * Values are read as the argument's declared type, so `name=007` stays a string where a
 * string is expected.
 */
import { FlagError } from "../util/errors.ts";
import { argsJsonSchema } from "./args.ts";
import type { TaskDefinition } from "./define.ts";

type JsonSchema = { type?: string | string[]; items?: JsonSchema; properties?: Record<string, JsonSchema> };

function typeOf(schema: JsonSchema | undefined): string | undefined {
  if (!schema?.type) return undefined;
  return Array.isArray(schema.type) ? schema.type.find((t) => t !== "null") : schema.type;
}

function coerce(raw: string, schema: JsonSchema | undefined): unknown {
  const type = typeOf(schema);
  if (type === "string") return raw;
  if (type === "array") {
    try {
      const parsed: unknown = JSON.parse(raw);
      if (Array.isArray(parsed)) return parsed;
    } catch {
      // a comma-separated list
    }
    return raw.split(",").filter((part) => part !== "").map((part) => coerce(part, schema?.items));
  }
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

export function argsFromCommandLine(task: TaskDefinition, words: string[], data?: string): Record<string, unknown> {
  let args: Record<string, unknown> = {};
  if (data !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch (error) {
      throw new FlagError(`--data is not valid JSON: ${(error as Error).message}`, `for example --data '{"name": "value"}'`);
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
      throw new FlagError("--data must be a JSON object of argument names to values", `for example --data '{"name": "value"}'`);
    }
    args = { ...(parsed as Record<string, unknown>) };
  }
  const properties = (argsJsonSchema(task) as JsonSchema).properties ?? {};
  const positional = task.positional ?? [];
  const bare: string[] = [];
  for (const word of words) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(word);
    if (match) args[match[1]!] = coerce(match[2]!, properties[match[1]!]);
    else bare.push(word);
  }
  for (const [index, name] of positional.entries()) {
    if (bare.length === 0) break;
    const isLast = index === positional.length - 1;
    if (typeOf(properties[name]) === "array" && isLast) {
      args[name] = bare.splice(0).map((word) => coerce(word, properties[name]?.items));
    } else {
      args[name] = coerce(bare.shift()!, properties[name]);
    }
  }
  if (bare.length > 0) {
    throw new FlagError(
      `${task.name} takes ${positional.length === 0 ? "no bare arguments" : `bare arguments for ${positional.join(", ")} only`}; got "${bare.join(" ")}" too`,
      "pass arguments as name=value, or --data JSON",
    );
  }
  return args;
}
