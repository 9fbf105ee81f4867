import { describe, expect, it } from "bun:test";
import { checkCommandTemplate } from "../../../src/config/command-template.ts";
import { fillTemplate } from "../../../src/tasks/command.ts";

describe("command task templates", () => {
  it("replaces placeholders and splices arrays, never through a shell", () => {
    expect(fillTemplate(["apt-get", "install", "-y", "{packages...}"], { packages: ["nginx", "curl; rm -rf /"] })).toEqual(["apt-get", "install", "-y", "nginx", "curl; rm -rf /"]);
    expect(fillTemplate(["deploy", "--env={env}", "{tag}"], { env: "prod", tag: "v1" })).toEqual(["deploy", "--env=prod", "v1"]);
  });

  it("drops an element that is only an unset optional argument", () => {
    expect(fillTemplate(["run", "{flag}", "x"], {})).toEqual(["run", "x"]);
  });

  it("reports placeholders without arguments and misused splices", () => {
    const args = { tag: { type: "string" as const, required: true }, list: { type: "array" as const, required: false } };
    expect(checkCommandTemplate(["x", "{nope}"], args)).toEqual([{ index: 1, message: "placeholder {nope} names no argument; declare it under args:" }]);
    expect(checkCommandTemplate(["--x={tag...}"], args)[0]?.message).toContain("must be a whole element");
    expect(checkCommandTemplate(["{list}"], args)[0]?.message).toContain("is an array");
    expect(checkCommandTemplate(["{list...}", "{tag}"], args)).toEqual([]);
  });
});
