/**
 * Builds form fields from a task's argument JSON Schema (as zod's toJSONSchema writes it):
 * text, number, checkbox and select inputs for scalars, one-per-line text areas for lists of
 * scalars, and a JSON text area for anything else. The server validates again; this only
 * helps people type the right shape.
 */
import { h } from "./dom.ts";

interface JsonSchema {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  minimum?: number;
  maximum?: number;
  pattern?: string;
}

type Kind = "string" | "integer" | "number" | "boolean" | "enum" | "list" | "json";

export interface SchemaField {
  name: string;
  kind: Kind;
  itemKind?: "string" | "integer" | "number" | "boolean";
  required: boolean;
  element: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;
  wrapper: HTMLElement;
}

const SCALARS = new Set(["string", "integer", "number", "boolean"]);

function kindOf(schema: JsonSchema): { kind: Kind; itemKind?: SchemaField["itemKind"] } {
  if (schema.enum && schema.enum.every((value) => typeof value === "string" || typeof value === "number")) return { kind: "enum" };
  const type = Array.isArray(schema.type) ? undefined : schema.type;
  if (type && SCALARS.has(type)) return { kind: type as Kind };
  if (type === "array" && schema.items && typeof schema.items.type === "string" && SCALARS.has(schema.items.type) && !schema.items.enum) {
    return { kind: "list", itemKind: schema.items.type as SchemaField["itemKind"] };
  }
  return { kind: "json" };
}

function input(name: string, schema: JsonSchema, kind: Kind, required: boolean): SchemaField["element"] {
  const id = `arg-${name}`;
  const common = { id, name, "data-arg": name, required: required && kind !== "boolean", "aria-describedby": schema.description ? `${id}-help` : undefined };
  switch (kind) {
    case "boolean":
      return h("input", { ...common, type: "checkbox", checked: schema.default === true });
    case "integer":
    case "number":
      return h("input", { ...common, type: "number", step: kind === "integer" ? 1 : "any", min: schema.minimum, max: schema.maximum, value: typeof schema.default === "number" ? schema.default : undefined });
    case "enum":
      return h("select", common, required ? null : h("option", { value: "" }, "(not set)"), (schema.enum ?? []).map((value) => h("option", { value: String(value), selected: value === schema.default }, String(value))));
    case "list":
      return h("textarea", { ...common, rows: 3, placeholder: "one value per line" }, Array.isArray(schema.default) ? schema.default.join("\n") : "");
    case "json":
      return h("textarea", { ...common, rows: 3, class: "mono", placeholder: "JSON" }, schema.default === undefined ? "" : JSON.stringify(schema.default));
    default:
      return h("input", { ...common, type: "text", pattern: schema.pattern, value: typeof schema.default === "string" ? schema.default : undefined, autocomplete: "off" });
  }
}

/** The fields of an object schema; a schema without properties gets one JSON field for the whole object. */
export function schemaFields(schema: JsonSchema): SchemaField[] {
  const properties = schema.properties;
  if (!properties || Object.keys(properties).length === 0) {
    if (schema.properties && Object.keys(schema.properties).length === 0) return [];
    const element = h("textarea", { id: "arg-json", name: "*", "data-arg": "*", rows: 4, class: "mono", placeholder: '{"name": "value"}' });
    return [{ name: "*", kind: "json", required: false, element, wrapper: h("div", { class: "field", "data-field": "args.*" }, h("label", { for: "arg-json" }, "Arguments (JSON object)"), element) }];
  }
  const required = new Set(schema.required ?? []);
  return Object.entries(properties).map(([name, property]) => {
    const { kind, itemKind } = kindOf(property);
    const element = input(name, property, kind, required.has(name));
    const label = h("label", { for: `arg-${name}` }, name, required.has(name) ? h("span", { class: "required", title: "required" }, " *") : null, kind === "list" ? h("small", { class: "muted" }, ` (list of ${itemKind})`) : null);
    const help = property.description ? h("small", { id: `arg-${name}-help`, class: "help" }, property.description) : null;
    const wrapper = h("div", { class: `field ${kind === "boolean" ? "inline" : ""}`, "data-field": `args.${name}` }, kind === "boolean" ? [element, label] : [label, element], help);
    return { name, kind, itemKind, required: required.has(name), element, wrapper };
  });
}

export class FieldError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

function scalar(text: string, kind: SchemaField["itemKind"], field: string): unknown {
  if (kind === "integer" || kind === "number") {
    const value = Number(text);
    if (text.trim() === "" || !Number.isFinite(value)) throw new FieldError(field, `"${text}" is not a number`);
    return value;
  }
  if (kind === "boolean") return text.trim() === "true";
  return text;
}

/** The arguments as typed; empty optional fields are left out. Throws FieldError for text that is not the declared type. */
export function readArgs(fields: SchemaField[]): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  for (const field of fields) {
    const path = field.name === "*" ? "args" : `args.${field.name}`;
    const { element } = field;
    if (field.kind === "boolean") {
      args[field.name] = (element as HTMLInputElement).checked;
      continue;
    }
    const text = element.value;
    if (text.trim() === "") continue;
    switch (field.kind) {
      case "integer":
      case "number":
        args[field.name] = scalar(text, field.kind, path);
        break;
      case "list":
        args[field.name] = text.split("\n").filter((line) => line.trim() !== "").map((line, index) => scalar(line, field.itemKind, `${path}[${index}]`));
        break;
      case "json": {
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch {
          throw new FieldError(path, "is not valid JSON");
        }
        if (field.name === "*") {
          if (!value || typeof value !== "object" || Array.isArray(value)) throw new FieldError(path, "must be a JSON object");
          Object.assign(args, value);
        } else {
          args[field.name] = value;
        }
        break;
      }
      default:
        args[field.name] = text;
    }
  }
  return args;
}
