import { afterEach, describe, expect, it } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { Queue, Worker } from "bullmq";
import { CorruptSnapshotError, openEmbeddedStore, SnapshotInUseError } from "../../../src/embedded/index.ts";
import { LlmctlError } from "../../../src/util/errors.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function snapshotPath(): string {
  const dir = mkdtempSync(join(tmpdir(), "llmctl-embedded-"));
  dirs.push(dir);
  return join(dir, "store.json");
}

describe("embedded store persistence", () => {
  it("keeps waiting and delayed jobs across a restart", async () => {
    const path = snapshotPath();
    const first = await openEmbeddedStore({ snapshotPath: path });
    const queue = new Queue("persist", { connection: first.connect() });
    await queue.add("now", { n: 1 }, { jobId: "now" });
    await queue.add("soon", { n: 2 }, { jobId: "soon", delay: 300 });
    await queue.close();
    await first.close();
    expect(existsSync(path)).toBe(true);

    const second = await openEmbeddedStore({ snapshotPath: path });
    const done: string[] = [];
    const worker = new Worker("persist", async (job) => {
      done.push(job.id!);
      return job.data.n;
    }, { connection: second.connect() });
    const deadline = Date.now() + 10_000;
    while (done.length < 2 && Date.now() < deadline) await Bun.sleep(20);
    await worker.close();
    await second.close();
    expect(done.sort()).toEqual(["now", "soon"]);
  }, 20_000);

  it("writes snapshots periodically, not only at close", async () => {
    const path = snapshotPath();
    const store = await openEmbeddedStore({ snapshotPath: path, snapshotIntervalMs: 30 });
    await store.connect().set("k", "v");
    const deadline = Date.now() + 2000;
    while (!existsSync(path) && Date.now() < deadline) await Bun.sleep(10);
    expect(readFileSync(path, "utf8")).toContain('"k"');
    await store.close();
  });

  it("refuses a corrupt snapshot with a clear error and leaves it untouched", async () => {
    const path = snapshotPath();
    writeFileSync(path, '{"format":"llmctl-embedded-snapshot","version":1,"entries":[{"k":');
    const before = readFileSync(path);
    const error = await openEmbeddedStore({ snapshotPath: path }).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(CorruptSnapshotError);
    expect(error).toBeInstanceOf(LlmctlError);
    expect((error as LlmctlError).message).toContain(path);
    expect((error as LlmctlError).message).toContain("not valid JSON");
    expect((error as LlmctlError).hint).toContain("move it aside");
    await Bun.sleep(50);
    expect(readFileSync(path)).toEqual(before);
  });

  it("refuses a file that is not a snapshot", async () => {
    const path = snapshotPath();
    writeFileSync(path, JSON.stringify({ hello: "world" }));
    await expect(openEmbeddedStore({ snapshotPath: path })).rejects.toThrow(/not an llmctl embedded-store snapshot/);
  });

  it("refuses a snapshot that a live process has open, and takes over a lock whose process is gone", async () => {
    const path = snapshotPath();
    const first = await openEmbeddedStore({ snapshotPath: path });
    const second = await openEmbeddedStore({ snapshotPath: path }).then(() => null, (e: unknown) => e);
    expect(second).toBeInstanceOf(SnapshotInUseError);
    expect((second as LlmctlError).message).toBe(`the embedded store ${path} is in use by another process (pid ${process.pid} on ${hostname()})`);
    await first.close();
    expect(existsSync(`${path}.lock`)).toBe(false);

    // A lock left by a process that no longer runs (killed without closing) does not block.
    const gone = Bun.spawn(["true"]);
    await gone.exited;
    writeFileSync(`${path}.lock`, String(gone.pid));
    const third = await openEmbeddedStore({ snapshotPath: path });
    expect(readFileSync(`${path}.lock`, "utf8")).toBe(`${process.pid}@${hostname()}`);
    await third.close();
  });

  it("releases the lock when the snapshot is refused", async () => {
    const path = snapshotPath();
    writeFileSync(path, "not json");
    await expect(openEmbeddedStore({ snapshotPath: path })).rejects.toThrow(CorruptSnapshotError);
    expect(existsSync(`${path}.lock`)).toBe(false);
  });
});
