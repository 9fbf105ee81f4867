import { describe, expect, it } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openRedisProvider } from "../../../src/broker/redis.ts";
import { parseRedisUrl } from "../../../src/config/redis-target.ts";

describe("RedisProvider for embedded targets", () => {
  it("opens the embedded store for `embedded` and shares one dataset between connections", async () => {
    const provider = await openRedisProvider({ ...parseRedisUrl("embedded", "test"), origin: {}, configured: true });
    expect(provider.kind).toBe("embedded");
    expect(provider.description).toBe("embedded");
    await provider.connect({ purpose: "command" }).set("k", "v");
    const named = provider.connect({ purpose: "blocking", name: "llmctl:test" });
    expect(await named.get("k")).toBe("v");
    expect(await named.client("GETNAME")).toBe("llmctl:test");
    await provider.close();
  });

  it("snapshots to the path of embedded:///path at close", async () => {
    const dir = mkdtempSync(join(tmpdir(), "llmctl-provider-"));
    try {
      const path = join(dir, "store.json");
      const provider = await openRedisProvider({ ...parseRedisUrl(`embedded://${path}`, "test"), origin: {}, configured: true });
      expect(provider.description).toBe(`embedded://${path}`);
      await provider.connect({ purpose: "command" }).set("k", "v");
      await provider.close();
      expect(existsSync(path)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
