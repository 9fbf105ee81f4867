#!/usr/bin/env bun
/**
 * Writes config/llmctl.schema.json and docs/configuration.md from the zod schema, so the editor
 * schema and the reference can never say something the loader does not enforce (a test fails
 * when either file is stale: run `bun run schema`).
 */
import { configJsonSchema } from "../src/config/schema.ts";

export const SCHEMA_PATH = new URL("../config/llmctl.schema.json", import.meta.url).pathname;
export const REFERENCE_PATH = new URL("../docs/configuration.md", import.meta.url).pathname;

type JsonSchema = Record<string, any>;

export function renderSchema(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}

function typeOf(schema: JsonSchema): string {
  if (schema.enum) return schema.enum.map((value: unknown) => JSON.stringify(value)).join(" \\| ");
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  const variants = schema.anyOf ?? schema.oneOf;
  if (variants) return variants.map(typeOf).join(" \\| ");
  if (schema.type === "array") return `list of ${schema.items ? typeOf(schema.items) : "any"}`;
  if (schema.type === "object" && schema.additionalProperties && typeof schema.additionalProperties === "object" && !schema.properties) {
    return `map of ${typeOf(schema.additionalProperties)}`;
  }
  if (schema.type === "integer" || schema.type === "number") {
    const bounds = [schema.minimum !== undefined ? `≥ ${schema.minimum}` : "", schema.maximum !== undefined ? `≤ ${schema.maximum}` : ""].filter(Boolean);
    return bounds.length ? `${schema.type} (${bounds.join(", ")})` : schema.type;
  }
  return schema.type ?? "any";
}

function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

function defaultOf(schema: JsonSchema): string {
  if (schema.default === undefined) return "";
  if (typeof schema.default === "object" && Object.keys(schema.default).length === 0) return "";
  return `\`${JSON.stringify(schema.default)}\``;
}

const PLACEHOLDERS: Record<string, string> = {
  workers: "<role>",
  schedules: "<schedule>",
  tasks: "<task>",
  args: "<argument>",
  environments: "<environment>",
};

/** Rows for every key below `schema`, depth first; maps of objects are documented under `<name>`. */
function rows(schema: JsonSchema, path: string, required: Set<string>, out: string[]): void {
  const description = (schema.description ?? "").trim();
  if (path) out.push(`| \`${path}\` | ${cell(typeOf(schema))} | ${required.has(path) ? "yes" : ""} | ${defaultOf(schema)} | ${cell(description)} |`);
  const object = schema.type === "object" ? schema : (schema.anyOf ?? []).find((variant: JsonSchema) => variant.type === "object" && variant.properties);
  if (object?.properties) {
    for (const key of object.required ?? []) required.add(path ? `${path}.${key}` : key);
    for (const [key, child] of Object.entries<JsonSchema>(object.properties)) {
      if (key === "$schema") continue;
      rows(child, path ? `${path}.${key}` : key, required, out);
    }
  } else if (schema.type === "object" && typeof schema.additionalProperties === "object" && schema.additionalProperties.properties) {
    const placeholder = PLACEHOLDERS[path.split(".").at(-1)!] ?? "<name>";
    rows({ ...schema.additionalProperties, description: undefined }, `${path}.${placeholder}`, required, out);
  }
}

export function renderReference(): string {
  const schema = configJsonSchema() as JsonSchema;
  const out: string[] = [
    "# Configuration reference",
    "",
    "Generated from the schema the loader validates with (`bun run schema`); do not edit by hand.",
    "Every key of `llmctl.yaml`, its type, whether it is required, its default and what it does.",
    "`<name>` stands for a key you choose (a role, a schedule, a task). Environment variables",
    "override `redis` (see the README's environment contract); `llmctl config show` prints the",
    "effective result and `llmctl config validate` checks a file with `file:line:col` errors.",
    "",
  ];
  for (const [key, child] of Object.entries<JsonSchema>(schema.properties)) {
    if (key === "$schema") continue;
    out.push(`## \`${key}\``, "", cell((child.description ?? "").trim()) || "", "", "| key | type | required | default | description |", "|---|---|---|---|---|");
    rows(child, key, new Set(schema.required ?? []), out);
    out.push("");
  }
  return `${out.join("\n").replace(/\n{3,}/g, "\n\n").trimEnd()}\n`;
}

if (import.meta.main) {
  await Bun.write(SCHEMA_PATH, renderSchema());
  await Bun.write(REFERENCE_PATH, renderReference());
  console.log(`wrote ${SCHEMA_PATH} and ${REFERENCE_PATH}`);
}
