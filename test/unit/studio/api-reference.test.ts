import { describe, expect, it } from "bun:test";
import { readFileSync } from "node:fs";
import { README_PATH, readmeWithApiTable, renderApiTable } from "../../../scripts/export-api.ts";
import { API_ROUTES } from "../../../src/studio/api.ts";
import { openApiDocument } from "../../../src/studio/openapi.ts";

describe("the API reference", () => {
  it("in the README is generated from the current routes (run `bun run api-docs` when this fails)", () => {
    const readme = readFileSync(README_PATH, "utf8");
    expect(readme).toContain(renderApiTable());
    expect(readmeWithApiTable(readme)).toBe(readme);
  });

  it("lists every route once, in the README and in the OpenAPI document", () => {
    const table = renderApiTable();
    const document = openApiDocument(API_ROUTES) as { paths: Record<string, Record<string, unknown>> };
    for (const route of API_ROUTES) {
      expect(table).toContain(`| \`${route.method}\` | \`${route.path}\``);
      expect(document.paths[route.path]?.[route.method.toLowerCase()]).toBeDefined();
    }
    const operations = Object.values(document.paths).flatMap((methods) => Object.keys(methods));
    expect(operations.length).toBe(API_ROUTES.length);
  });

  it("refuses a README without the generated block", () => {
    expect(() => readmeWithApiTable("# no table here\n")).toThrow("README.md has no");
  });
});
