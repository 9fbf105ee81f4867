#!/usr/bin/env bun
/** Writes config/llmctl.schema.json from the zod schema (a test fails when it is stale). */
import { configJsonSchema } from "../src/config/schema.ts";

export const SCHEMA_PATH = new URL("../config/llmctl.schema.json", import.meta.url).pathname;

export function renderSchema(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}

if (import.meta.main) {
  await Bun.write(SCHEMA_PATH, renderSchema());
  console.log(`wrote ${SCHEMA_PATH}`);
}
