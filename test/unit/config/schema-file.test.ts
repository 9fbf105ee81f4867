import { describe, expect, it } from "bun:test";
import { readFileSync } from "node:fs";
import { parseDocument } from "yaml";
import { REFERENCE_PATH, renderReference, renderSchema, SCHEMA_PATH } from "../../../scripts/export-schema.ts";
import { STARTER_CONFIG } from "../../../src/config/template.ts";

describe("config/llmctl.schema.json", () => {
  it("is generated from the current schema (run `bun run schema` when this fails)", () => {
    expect(readFileSync(SCHEMA_PATH, "utf8")).toBe(renderSchema());
  });

  it("describes every top-level key the starter config uses", () => {
    const schema = JSON.parse(renderSchema()) as { properties: Record<string, unknown> };
    const starter = parseDocument(STARTER_CONFIG).toJS() as Record<string, unknown>;
    for (const key of Object.keys(starter)) expect(Object.keys(schema.properties)).toContain(key);
  });

  it("is referenced by the yaml-language-server comment on the first line of the starter config", () => {
    expect(STARTER_CONFIG.split("\n")[0]).toBe("# yaml-language-server: $schema=./llmctl.schema.json");
  });
});

describe("docs/configuration.md", () => {
  it("is generated from the current schema (run `bun run schema` when this fails)", () => {
    expect(readFileSync(REFERENCE_PATH, "utf8")).toBe(renderReference());
  });

  it("documents every top-level key of the schema", () => {
    const schema = JSON.parse(renderSchema()) as { properties: Record<string, unknown> };
    const reference = renderReference();
    for (const key of Object.keys(schema.properties).filter((key) => key !== "$schema")) expect(reference).toContain(`## \`${key}\``);
  });
});
