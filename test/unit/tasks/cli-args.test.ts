import { describe, expect, it } from "bun:test";
import { z } from "zod";
import { defineTask } from "../../../src/tasks/define.ts";
import { argsFromCommandLine } from "../../../src/tasks/cli-args.ts";
import { FlagError } from "../../../src/util/errors.ts";

const install = defineTask({
  name: "install",
  args: z.strictObject({ packages: z.array(z.string()), dry_run: z.boolean().default(false) }),
  positional: ["packages"],
  handler: () => null,
});
const typed = defineTask({
  name: "typed",
  args: z.strictObject({ name: z.string(), count: z.number().optional(), tags: z.array(z.string()).optional() }),
  handler: () => null,
});

describe("task arguments from the command line", () => {
  it("fills an array positional with the remaining bare words (task install nginx curl)", () => {
    expect(argsFromCommandLine(install, ["nginx", "curl", "dry_run=true"])).toEqual({ packages: ["nginx", "curl"], dry_run: true });
  });

  it("reads name=value as the declared type, so strings stay strings", () => {
    expect(argsFromCommandLine(typed, ["name=007", "count=3", "tags=a,b"])).toEqual({ name: "007", count: 3, tags: ["a", "b"] });
  });

  it("merges name=value words over --data", () => {
    expect(argsFromCommandLine(typed, ["count=2"], '{"name": "x", "count": 1}')).toEqual({ name: "x", count: 2 });
  });

  it("rejects invalid --data and surplus bare words", () => {
    expect(() => argsFromCommandLine(typed, [], "{nope")).toThrow(FlagError);
    expect(() => argsFromCommandLine(typed, [], "[1]")).toThrow("--data must be a JSON object");
    expect(() => argsFromCommandLine(typed, ["stray"])).toThrow('typed takes no bare arguments; got "stray" too');
  });
});
