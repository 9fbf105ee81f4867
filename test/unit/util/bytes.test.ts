import { describe, expect, it } from "bun:test";
import { formatBytes, parseBytes } from "../../../src/util/bytes.ts";
import { configSchema } from "../../../src/config/schema.ts";

describe("sizes in config", () => {
  it("reads binary and decimal units, plain byte counts and zero", () => {
    expect(parseBytes("1MiB")).toBe(1_048_576);
    expect(parseBytes("512KiB")).toBe(524_288);
    expect(parseBytes("64kB")).toBe(64_000);
    expect(parseBytes("1.5GiB")).toBe(1.5 * 1024 ** 3);
    expect(parseBytes("2TB")).toBe(2e12);
    expect(parseBytes("2048")).toBe(2048);
    expect(parseBytes(4096)).toBe(4096);
    expect(parseBytes("0")).toBe(0);
  });

  it("refuses what is not a size", () => {
    for (const bad of ["", "MiB", "1 parsec", "-1MiB", -1, 1.5, "1e6"]) expect(parseBytes(bad)).toBeUndefined();
  });

  it("formats whole binary units without decimals and the rest with one", () => {
    expect(formatBytes(1_048_576)).toBe("1 MiB");
    expect(formatBytes(2048)).toBe("2 KiB");
    expect(formatBytes(1000)).toBe("1000 B");
    expect(formatBytes(1536)).toBe("1.5 KiB");
  });

  it("gives the studio section its defaults: loopback, 8080, 1 MiB bodies, reads behind the token", () => {
    const config = configSchema.parse({ queues: ["q"] });
    expect(config.studio).toEqual({ host: "127.0.0.1", port: 8080, max_body: "1MiB", public_read: false });
    expect(configSchema.safeParse({ queues: ["q"], studio: { max_body: "lots" } }).success).toBe(false);
    expect(configSchema.safeParse({ queues: ["q"], studio: { max_body: "0" } }).success).toBe(false);
  });
});
