import { afterAll, describe, expect, it } from "bun:test";
import { existsSync, lutimesSync, mkdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import cleanupWorkspaces from "../../../src/tasks/builtin/cleanup-workspaces.ts";
import shell from "../../../src/tasks/builtin/shell.ts";
import { tempDir } from "../../helpers/files.ts";
import { handlerContext } from "../../helpers/task-context.ts";

const files = tempDir();
afterAll(() => files.cleanup());

const context = handlerContext;

function makeWorkspace(root: string, name: string, ageDays: number, bytes: number, linkTo?: string): string {
  const dir = join(root, name);
  mkdirSync(join(dir, "sub"), { recursive: true });
  writeFileSync(join(dir, "sub", "data"), "x".repeat(bytes));
  const when = new Date(Date.now() - ageDays * 86_400_000);
  if (linkTo) {
    symlinkSync(linkTo, join(dir, "escape"));
    lutimesSync(join(dir, "escape"), when, when);
  }
  for (const path of [join(dir, "sub", "data"), join(dir, "sub"), dir]) utimesSync(path, when, when);
  return dir;
}

/** Dead, or a zombie nobody reaped yet (PID 1 in a container may not reap). */
function isGone(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(" ")[2] === "Z";
  } catch {
    return true;
  }
}

describe("services.tasks.cleanup_workspaces", () => {
  it("removes stale workspaces, keeps fresh ones, and never follows a symlink out of the root", async () => {
    const root = join(files.dir, "workspaces");
    const outside = join(files.dir, "outside");
    mkdirSync(root, { recursive: true });
    mkdirSync(outside, { recursive: true });
    writeFileSync(join(outside, "precious"), "keep me");
    makeWorkspace(root, "old", 10, 1000);
    makeWorkspace(root, "fresh", 1, 10);
    makeWorkspace(root, "old-with-link", 10, 5, outside);
    symlinkSync(outside, join(root, "link-to-outside"));

    const dry = (await cleanupWorkspaces.handler(context({ root, max_age: "7d", dry_run: true }))) as Record<string, unknown>;
    expect(dry).toMatchObject({ removed: 2, dry_run: true, kept: 1 });
    expect(existsSync(join(root, "old"))).toBe(true);

    const ctx = context({ root, max_age: "7d", dry_run: false });
    const result = (await cleanupWorkspaces.handler(ctx)) as Record<string, unknown>;
    expect(result).toMatchObject({ removed: 2, kept: 1, dry_run: false });
    expect(result.bytes_freed).toBeGreaterThanOrEqual(1005);
    expect(result.skipped).toEqual([{ name: "link-to-outside", reason: "symbolic link (never followed)" }]);
    expect(existsSync(join(root, "old"))).toBe(false);
    expect(existsSync(join(root, "fresh"))).toBe(true);
    expect(existsSync(join(outside, "precious"))).toBe(true);
    expect(ctx.progressed.at(-1)).toBe(100);
  });

  it("takes root and max_age from the config and fails clearly on a missing root", async () => {
    const root = join(files.dir, "from-config");
    mkdirSync(root);
    makeWorkspace(root, "stale", 3, 1);
    const result = (await cleanupWorkspaces.handler(context({ dry_run: false }, `queues: [a]\nworkspaces: { root: ${root}, max_age: 2d }\n`))) as Record<string, unknown>;
    expect(result).toMatchObject({ removed: 1, max_age: "2d" });
    await expect(Promise.resolve(cleanupWorkspaces.handler(context({ root: join(files.dir, "nope"), dry_run: false })))).rejects.toThrow("is not a readable directory");
  });
});

describe("shell", () => {
  it("captures the exit code and output tails, passing only allowlisted variables", async () => {
    process.env.LLMCTL_TEST_SECRET = "leak";
    const result = (await shell.handler(context({ argv: ["/bin/sh", "-c", 'echo "out $VISIBLE ${LLMCTL_TEST_SECRET:-none}"; echo err >&2'], env: { VISIBLE: "yes" }, check: true }))) as Record<string, unknown>;
    expect(result).toMatchObject({ exit_code: 0, stdout_tail: "out yes none\n", stderr_tail: "err\n" });
  });

  it("fails on a non-zero exit with the stderr tail, unless check is false", async () => {
    await expect(Promise.resolve(shell.handler(context({ argv: ["/bin/sh", "-c", "echo boom >&2; exit 3"], check: true })))).rejects.toThrow("/bin/sh exited with code 3: boom");
    expect(await shell.handler(context({ argv: ["/bin/sh", "-c", "exit 3"], check: false }))).toMatchObject({ exit_code: 3 });
  });

  it("kills the whole process group on timeout", async () => {
    const pidFile = join(files.dir, "grandchild.pid");
    const started = Date.now();
    await expect(
      Promise.resolve(shell.handler(context({ argv: ["/bin/sh", "-c", `sleep 30 & echo $! > ${pidFile}; wait`], timeout: "300ms", check: true }))),
    ).rejects.toThrow("timed out after 300ms");
    expect(Date.now() - started).toBeLessThan(3000);
    const pid = Number(await Bun.file(pidFile).text());
    await Bun.sleep(100);
    expect(isGone(pid)).toBe(true);
  });

  it("refuses commands outside shell.allowed_commands and reports a missing command", async () => {
    await expect(Promise.resolve(shell.handler(context({ argv: ["/bin/rm", "-rf", "/tmp/x"], check: true }, "queues: [a]\nshell: { allowed_commands: ['/usr/bin/*'] }\n")))).rejects.toThrow("is not allowed by shell.allowed_commands");
    await expect(Promise.resolve(shell.handler(context({ argv: ["/nonexistent/cmd"], check: true })))).rejects.toThrow("command not found: /nonexistent/cmd");
  });
});
