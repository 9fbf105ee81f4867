import { describe, expect, it } from "bun:test";
import { readFileSync } from "node:fs";
import { ROOT } from "../helpers/cli.ts";

function commandAfter(marker: string): string {
  const readme = readFileSync(`${ROOT}/README.md`, "utf8");
  const match = new RegExp(`<!-- ${marker} -->\\s*\`\`\`sh\\n([^\\n]+)\\n\`\`\``).exec(readme);
  if (!match) throw new Error(`README has no ${marker} block`);
  return match[1]!;
}

describe("README", () => {
  it("gives the test command that .ci/run runs, and nothing else", () => {
    const ci = readFileSync(`${ROOT}/.ci/run`, "utf8");
    const executed = ci.split("\n").filter((line) => line.startsWith("exec "));
    expect(executed).toEqual([`exec ${commandAfter("test-command")}`]);
  });

  it("gives a main command that builds the binary and runs llmctl up", () => {
    const main = commandAfter("main-command");
    expect(main).toContain("bun run build");
    expect(main).toEndWith("&& dist/llmctl up");
  });
});
