import { beforeAll, describe, expect, it, setDefaultTimeout } from "bun:test";
import { join } from "node:path";
import { ROOT, ensureBinary, llmctl } from "../helpers/cli.ts";

setDefaultTimeout(30_000);
beforeAll(() => ensureBinary(), 120_000);

const EXAMPLE = join(ROOT, "config", "examples", "worker.yaml");

describe("config/examples/worker.yaml (the README's worker example)", () => {
  it("validates", async () => {
    const result = await llmctl(["config", "validate", "-c", EXAMPLE]);
    expect(result.code).toBe(0);
  });

  it("registers its command task and the module from its tasks directory", async () => {
    const result = await llmctl(["task", "list", "--json", "-c", EXAMPLE]);
    expect(result.code).toBe(0);
    const tasks = JSON.parse(result.stdout) as Array<{ name: string; attempts: number }>;
    const byName = new Map(tasks.map((task) => [task.name, task]));
    expect(byName.get("report.word_count")?.attempts).toBe(3);
    expect(byName.has("greet")).toBe(true);
  });
});
