/**
 * services.tasks.run_huggingface_download_task against a local hub that speaks the Hugging Face
 * API (test/helpers/fake-hub.ts), writing to real directories.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, setDefaultTimeout } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import download from "../../src/tasks/builtin/huggingface-download.ts";
import { randomBytes, tempDir, yaml } from "../helpers/files.ts";
import { startFakeHub, type FakeHub } from "../helpers/fake-hub.ts";
import { handlerContext } from "../helpers/task-context.ts";

setDefaultTimeout(20_000);

const files = tempDir("llmctl-hf-");
let hub: FakeHub;
const TOKEN = "hf_test_token";


const weights = randomBytes(600 * 1024);
const shard = randomBytes(200 * 1024);
const config = new TextEncoder().encode('{"model_type": "tiny"}\n');
const tokenizer = new TextEncoder().encode('{"version": "1.0"}\n');

function configText(modelsDir: string, minFree = "0"): string {
  return yaml`
    queues: [llmctl_studio, llmctl_studio.downloads.huggingface]
    models: { dir: ${modelsDir}, endpoint: ${hub.url}, token_env: LLMCTL_TEST_HF_TOKEN, min_free: "${minFree}" }
  `;
}

let modelsDir: string;

/** The handler as the worker calls it, always as a promise. */
function run(ctx: Parameters<typeof download.handler>[0]): Promise<unknown> {
  return Promise.resolve(download.handler(ctx));
}
let dirCount = 0;

function context(args: Record<string, unknown>, options: { signal?: AbortSignal; minFree?: string } = {}) {
  return handlerContext<never>({ revision: "main", ...args }, configText(modelsDir, options.minFree), options.signal);
}

function fileRequests(): string[] {
  return hub.requests.filter((request) => request.path.startsWith("/cdn/") || request.path.includes("/resolve/")).map((request) => `${request.method} ${request.path}`);
}

beforeAll(() => {
  delete process.env.HF_ENDPOINT;
  hub = startFakeHub({ token: TOKEN });
  hub.repos.set("acme/tiny", {
    commit: "a".repeat(40),
    revisions: ["main", "v1"],
    files: {
      "config.json": { content: config },
      "model.safetensors": { content: weights, lfs: true },
      "shards/model-00001.bin": { content: shard, lfs: true },
      "tokenizer/tokenizer.json": { content: tokenizer },
    },
  });
  hub.repos.set("acme/private", { commit: "b".repeat(40), private: true, files: { "config.json": { content: config } } });
});
afterEach(() => {
  hub.requests.length = 0;
  hub.bytesPerSecond = 0;
  hub.cut = { afterBytes: 0, times: 0 };
  hub.corrupted.clear();
  delete process.env.LLMCTL_TEST_HF_TOKEN;
});
afterAll(async () => {
  await hub.stop();
  files.cleanup();
});

function freshModelsDir(): string {
  modelsDir = join(files.dir, `models-${++dirCount}`);
  return modelsDir;
}

describe("services.tasks.run_huggingface_download_task", () => {
  it("downloads a snapshot through redirects, verifies sha256 and git-sha1 etags, and reports progress per file and overall", async () => {
    freshModelsDir();
    const ctx = context({ repo_id: "acme/tiny" });
    const result = (await run(ctx)) as Record<string, unknown>;
    expect(result).toMatchObject({ status: "downloaded", commit: "a".repeat(40), files: 4, bytes_downloaded: weights.length + shard.length + config.length + tokenizer.length });
    const target = join(modelsDir, "acme/tiny");
    expect(readFileSync(join(target, "model.safetensors")).equals(weights)).toBe(true);
    expect(readFileSync(join(target, "shards/model-00001.bin")).equals(shard)).toBe(true);
    expect(readFileSync(join(target, "tokenizer/tokenizer.json"), "utf8")).toBe(new TextDecoder().decode(tokenizer));
    const verified = Object.fromEntries((result.downloaded as Array<{ path: string; verified: string }>).map((file) => [file.path, file.verified]));
    expect(verified).toEqual({ "config.json": "git-sha1", "model.safetensors": "sha256", "shards/model-00001.bin": "sha256", "tokenizer/tokenizer.json": "git-sha1" });
    // Files are fetched from the resolved commit, LFS ones from the CDN the hub redirected to.
    expect(fileRequests()).toContain(`GET /acme/tiny/resolve/${"a".repeat(40)}/model.safetensors`);
    expect(fileRequests().some((request) => request.startsWith("GET /cdn/"))).toBe(true);
    const last = ctx.progressed.at(-1) as Record<string, unknown>;
    expect(last).toMatchObject({ percent: 100, files_done: 4, files_total: 4 });
    expect(ctx.progressed.some((value) => (value as Record<string, unknown>).file === "model.safetensors" && ((value as Record<string, number>).file_bytes ?? 0) < weights.length)).toBe(true);
    expect(existsSync(join(modelsDir, ".partial"))).toBe(false);
  });

  it("does nothing on a second run over a complete snapshot, and says so", async () => {
    freshModelsDir();
    await run(context({ repo_id: "acme/tiny" }));
    hub.requests.length = 0;
    const ctx = context({ repo_id: "acme/tiny", revision: "v1" });
    const result = (await run(ctx)) as Record<string, unknown>;
    expect(result).toMatchObject({ status: "up_to_date", message: "already complete: nothing downloaded", bytes_downloaded: 0 });
    expect(ctx.logs.join("\n")).toContain("is already complete");
    expect(fileRequests()).toEqual([]);
  });

  it("downloads only what allow_patterns name and ignore_patterns do not (globs as huggingface_hub: * crosses '/')", async () => {
    freshModelsDir();
    const result = (await run(context({ repo_id: "acme/tiny", allow_patterns: ["*.json", "*.bin"], ignore_patterns: ["tokenizer/"] }))) as Record<string, unknown>;
    expect((result.downloaded as Array<{ path: string }>).map((file) => file.path)).toEqual(["config.json", "shards/model-00001.bin"]);
    expect(existsSync(join(modelsDir, "acme/tiny/model.safetensors"))).toBe(false);
    await expect(run(context({ repo_id: "acme/tiny", allow_patterns: ["*.gguf"] }))).rejects.toThrow("no file of acme/tiny@main matches the allow/ignore patterns (4 files in the repository)");
  });

  it("resumes with a Range request after the connection is cut mid-file", async () => {
    freshModelsDir();
    hub.cut = { afterBytes: 160 * 1024, times: 2 };
    const ctx = context({ repo_id: "acme/tiny", allow_patterns: ["model.safetensors"] });
    const result = (await run(ctx)) as Record<string, unknown>;
    expect(result).toMatchObject({ status: "downloaded" });
    expect(readFileSync(join(modelsDir, "acme/tiny/model.safetensors")).equals(weights)).toBe(true);
    const ranges = hub.requests.filter((request) => request.path.startsWith("/cdn/")).map((request) => request.range);
    expect(ranges).toEqual([null, "bytes=163840-", "bytes=327680-"]);
    expect(ctx.logs.filter((line) => line.includes("transfer interrupted"))).toHaveLength(2);
  });

  it("fails after too many cuts of one file, keeping what it has for the next attempt", async () => {
    freshModelsDir();
    hub.cut = { afterBytes: 50 * 1024, times: 6 };
    const args = { repo_id: "acme/tiny", allow_patterns: ["model.safetensors"] };
    await expect(run(context(args))).rejects.toThrow(
      `model.safetensors: transfer failed 6 times in a row (last: the connection closed at byte ${6 * 50 * 1024} of ${weights.length}); ${6 * 50 * 1024} bytes are kept for the next attempt to resume`,
    );
    const partialDir = join(modelsDir, ".partial/acme/tiny");
    expect(readFileSync(join(partialDir, readdirSync(partialDir)[0]!)).length).toBe(6 * 50 * 1024);
    const result = (await run(context(args))) as { downloaded: Array<{ resumed_from: number }> };
    expect(result.downloaded[0]!.resumed_from).toBe(6 * 50 * 1024);
    expect(readFileSync(join(modelsDir, "acme/tiny/model.safetensors")).equals(weights)).toBe(true);
  });

  it("stops within a second when aborted, keeps the partial file, and the next run resumes it", async () => {
    freshModelsDir();
    hub.bytesPerSecond = 256 * 1024;
    const controller = new AbortController();
    const partialDir = join(modelsDir, ".partial/acme/tiny");
    const running = run(context({ repo_id: "acme/tiny", allow_patterns: ["model.safetensors"] }, { signal: controller.signal }));
    running.catch(() => {});
    for (let i = 0; i < 100 && !(existsSync(partialDir) && readdirSync(partialDir).length > 0); i++) await Bun.sleep(20);
    await Bun.sleep(500);
    const abortedAt = Date.now();
    controller.abort(new Error("revoked"));
    await expect(running).rejects.toThrow("revoked");
    expect(Date.now() - abortedAt).toBeLessThan(1000);
    const [partial] = readdirSync(partialDir);
    expect(partial).toMatch(/^model\.safetensors\.[0-9a-f]{16}\.incomplete$/);
    const kept = readFileSync(join(partialDir, partial!)).length;
    expect(kept).toBeGreaterThan(0);
    expect(existsSync(join(modelsDir, "acme/tiny/model.safetensors"))).toBe(false);

    hub.bytesPerSecond = 0;
    hub.requests.length = 0;
    const result = (await run(context({ repo_id: "acme/tiny", allow_patterns: ["model.safetensors"] }))) as { downloaded: Array<{ resumed_from: number; bytes: number }> };
    expect(result.downloaded[0]).toEqual(expect.objectContaining({ resumed_from: kept, bytes: weights.length - kept }));
    expect(hub.requests.find((request) => request.path.startsWith("/cdn/"))?.range).toBe(`bytes=${kept}-`);
    expect(readFileSync(join(modelsDir, "acme/tiny/model.safetensors")).equals(weights)).toBe(true);
    expect(existsSync(join(modelsDir, ".partial"))).toBe(false);
  });

  it("runs one download of a repository at a time: a second waits, then finds the snapshot complete; a waiting one stops within a second when aborted", async () => {
    freshModelsDir();
    hub.bytesPerSecond = 1024 * 1024;
    const first = run(context({ repo_id: "acme/tiny" }));
    const partialDir = join(modelsDir, ".partial/acme/tiny");
    for (let i = 0; i < 100 && !existsSync(partialDir); i++) await Bun.sleep(20);
    const waiting = context({ repo_id: "acme/tiny" });
    const second = run(waiting);
    const controller = new AbortController();
    const revoked = context({ repo_id: "acme/tiny" }, { signal: controller.signal });
    const third = run(revoked);
    third.catch(() => {});
    await Bun.sleep(300);
    const abortedAt = Date.now();
    controller.abort(new Error("revoked"));
    await expect(third).rejects.toThrow("revoked");
    expect(Date.now() - abortedAt).toBeLessThan(1000);
    expect(revoked.logs.join("\n")).toContain(`waiting: acme/tiny is being downloaded into ${modelsDir} by pid ${process.pid}`);

    expect(await first).toMatchObject({ status: "downloaded", files: 4 });
    expect(await second).toMatchObject({ status: "up_to_date", bytes_downloaded: 0 });
    expect(waiting.progressed[0]).toMatchObject({ phase: "waiting for another download of the same repository" });
    // Each file went over the wire once, whole.
    expect(fileRequests().filter((request) => request.includes("model.safetensors") && request.startsWith("GET /cdn/"))).toHaveLength(1);
    expect(readFileSync(join(modelsDir, "acme/tiny/model.safetensors")).equals(weights)).toBe(true);
    expect(existsSync(join(modelsDir, ".partial"))).toBe(false);
  });

  it("deletes a file whose checksum does not match and fails with that reason", async () => {
    freshModelsDir();
    hub.corrupted.add("model.safetensors");
    await expect(run(context({ repo_id: "acme/tiny" }))).rejects.toThrow(/^checksum mismatch for model\.safetensors: got sha256 [0-9a-f]{64} instead of [0-9a-f]{64}; the downloaded file was deleted$/);
    expect(existsSync(join(modelsDir, "acme/tiny/model.safetensors"))).toBe(false);
    expect(readdirSync(join(modelsDir, ".partial/acme/tiny"))).toEqual([]);
  });

  it.each([
    ["a repository that does not exist", { repo_id: "acme/missing" }, "repository acme/missing was not found on", "UnrecoverableError"],
    ["a private repository without a token", { repo_id: "acme/private" }, "repository acme/private was not found on", "UnrecoverableError"],
    ["an unknown revision", { repo_id: "acme/tiny", revision: "v9" }, "acme/tiny@v9: revision not found (hub answered 404: Invalid rev id: v9)", "UnrecoverableError"],
  ])("fails on %s with a precise reason, leaving nothing behind", async (_case, args, message, name) => {
    freshModelsDir();
    const failure = (await run(context(args)).catch((error: unknown) => error)) as Error;
    expect(failure.message).toContain(message);
    expect(failure.name).toBe(name); // not retried: another attempt gets the same answer
    expect(existsSync(modelsDir)).toBe(false);
  });

  it("sends the token from the configured variable to the hub, never to the CDN it redirects to", async () => {
    freshModelsDir();
    process.env.LLMCTL_TEST_HF_TOKEN = TOKEN;
    hub.repos.get("acme/private")!.files["weights.bin"] = { content: shard, lfs: true };
    const result = (await run(context({ repo_id: "acme/private" }))) as Record<string, unknown>;
    expect(result).toMatchObject({ status: "downloaded", files: 2 });
    expect(hub.requests.filter((request) => request.path.startsWith("/api/")).every((request) => request.authorization === `Bearer ${TOKEN}`)).toBe(true);
    expect(hub.requests.filter((request) => request.path.startsWith("/cdn/")).every((request) => request.authorization === null)).toBe(true);
  });

  it("refuses to start when the disk would keep less than models.min_free (real statfs)", async () => {
    freshModelsDir();
    await expect(run(context({ repo_id: "acme/tiny" }, { minFree: "1000000TB" }))).rejects.toThrow(
      /^not enough disk space for acme\/tiny in .*: 800\.0 KiB to download, [\d.]+ [GT]iB available, 909494\.7 TiB must stay free \(models\.min_free\)$/,
    );
    expect(hub.requests.filter((request) => request.method === "GET" && request.path.startsWith("/cdn/"))).toEqual([]);
    expect(existsSync(modelsDir)).toBe(false);
  });
});

/** A 1 MiB tmpfs: a real small disk. Needs root (CI and the dev machines run as root). */
function mountTinyDisk(path: string): boolean {
  mkdirSync(path, { recursive: true });
  return Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", path], { stderr: "pipe" }).exitCode === 0;
}

describe("a full disk", () => {
  const disk = join(files.dir, "tiny-disk");
  const mounted = process.getuid?.() === 0 && mountTinyDisk(disk);
  afterAll(() => {
    if (mounted) Bun.spawnSync(["umount", disk]);
    rmSync(disk, { recursive: true, force: true });
  });

  it.skipIf(!mounted)("refuses a snapshot larger than the free space of a 1 MiB tmpfs before downloading anything", async () => {
    modelsDir = join(disk, "models");
    hub.repos.set("acme/big", { commit: "c".repeat(40), files: { "big.bin": { content: randomBytes(2 * 1024 * 1024), lfs: true } } });
    await expect(run(context({ repo_id: "acme/big" }))).rejects.toThrow(/^not enough disk space for acme\/big in .*: 2 MiB to download, (1 MiB|10\d\d KiB) available, 0 B must stay free \(models\.min_free\)$/);
    expect(hub.requests.filter((request) => request.method === "GET" && request.path.startsWith("/cdn/"))).toEqual([]);
    expect(existsSync(modelsDir)).toBe(false);
  });
});
