/**
 * scripts/verify-image.sh: the distroless root filesystem (the binary, the libraries ldd names,
 * the loader, /etc/passwd with uid 65532, /tmp) runs `llmctl --version` and `llmctl smoke
 * --local` as uid 65532 on a read-only root. It needs root for chroot and mounts (CI is root).
 */
import { describe, expect, it } from "bun:test";
import { join } from "node:path";
import { ensureBinary, ROOT } from "../helpers/cli.ts";

describe("scripts/verify-image.sh", () => {
  it("runs the binary as the distroless image would: non-root, read-only, nothing but its libraries", async () => {
    const child = Bun.spawn([join(ROOT, "scripts", "verify-image.sh"), ensureBinary()], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    expect({ code, stderr: stderr.slice(-2000) }).toEqual({ code: 0, stderr: expect.any(String) });
    expect(stdout).toContain("/lib64/ld-linux-x86-64.so.2");
    expect(stdout).toMatch(/llmctl \d+\.\d+\.\d+/);
    expect(stdout).toContain("refused, as it should be");
    expect(stdout).toContain("==> ok: the distroless root filesystem runs llmctl");
  }, 60_000);
});
