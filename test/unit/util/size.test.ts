import { describe, expect, it } from "bun:test";
import { formatSize, parseSizeBytes } from "../../../src/util/size.ts";
import { configSchema } from "../../../src/config/schema.ts";

describe("sizes in config", () => {
  it("reads binary and decimal units and plain byte counts", () => {
    expect(parseSizeBytes("1MiB")).toBe(1_048_576);
    expect(parseSizeBytes("512KiB")).toBe(524_288);
    expect(parseSizeBytes("64kB")).toBe(64_000);
    expect(parseSizeBytes("2048")).toBe(2048);
    expect(parseSizeBytes(4096)).toBe(4096);
  });

  it("refuses what is not a size", () => {
    for (const bad of ["", "MiB", "1 parsec", "-1MiB", "0", 0, 1.5, "1e6"]) expect(parseSizeBytes(bad)).toBeUndefined();
  });

  it("formats whole binary units", () => {
    expect(formatSize(1_048_576)).toBe("1 MiB");
    expect(formatSize(2048)).toBe("2 KiB");
    expect(formatSize(1000)).toBe("1000 bytes");
  });

  it("gives the studio section its defaults: loopback, 8080, 1 MiB bodies, reads behind the token", () => {
    const config = configSchema.parse({ queues: ["q"] });
    expect(config.studio).toEqual({ host: "127.0.0.1", port: 8080, max_body: "1MiB", public_read: false });
    expect(configSchema.safeParse({ queues: ["q"], studio: { max_body: "lots" } }).success).toBe(false);
  });
});
