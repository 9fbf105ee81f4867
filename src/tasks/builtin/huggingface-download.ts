import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, open, readFile, readdir, rename, rm, rmdir, stat, truncate } from "node:fs/promises";
import { dirname, join } from "node:path";
import picomatch from "picomatch";
import { z } from "zod";
import { defineTask, type TaskContext } from "../define.ts";
import { availableBytes } from "../disk.ts";
import { permanent } from "../failure.ts";
import { DEFAULT_HUB, HubClient, HubError, type FileMetadata } from "../hub.ts";
import { formatBytes, parseBytes } from "../../util/bytes.ts";
import { RuntimeError, errorMessage } from "../../util/errors.ts";
import { writeFileAtomic } from "../../util/fs.ts";
import { abortableSleep } from "../../util/abortable-sleep.ts";
import { describeHolder, tryLock } from "../../util/pid-lock.ts";

const REPO_ID = /^(?:[A-Za-z0-9][A-Za-z0-9_.-]*\/)?[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const REVISION = /^[A-Za-z0-9][A-Za-z0-9_.\/-]*$/;
/** Connection cuts survived per file within one run before the job fails (and is retried). */
const MAX_RESUMES = 5;
const PROGRESS_EVERY_MS = 250;
const MANIFEST = ".llmctl-snapshot.json";

const argsSchema = z.strictObject({
  repo_id: z.string().regex(REPO_ID, "a repository id such as owner/name").refine((id) => !id.includes(".."), "must not contain '..'").describe("the model repository, e.g. Qwen/Qwen2.5-0.5B"),
  revision: z.string().regex(REVISION, "a branch, tag or commit sha").refine((rev) => !rev.includes(".."), "must not contain '..'").default("main").describe("branch, tag or commit sha"),
  allow_patterns: z.array(z.string().min(1)).optional().describe("download only files matching one of these globs (as huggingface_hub: * also matches '/')"),
  ignore_patterns: z.array(z.string().min(1)).optional().describe("skip files matching one of these globs"),
});

type Args = z.output<typeof argsSchema>;

interface ManifestEntry {
  size: number;
  etag: string;
  verified: Verification;
}

interface Manifest {
  repo_id: string;
  revision: string;
  commit: string;
  files: Record<string, ManifestEntry>;
  completed_at?: string;
}

type Verification = "sha256" | "git-sha1" | "size";

function verificationOf(etag: string): Verification {
  if (/^[0-9a-f]{64}$/i.test(etag)) return "sha256";
  if (/^[0-9a-f]{40}$/i.test(etag)) return "git-sha1";
  return "size";
}

/** huggingface_hub's filter: fnmatch, where * also crosses '/', and a pattern ending in '/' means the whole directory. */
function fileFilter(allow: string[] | undefined, ignore: string[] | undefined): (path: string) => boolean {
  const compile = (patterns: string[]) => picomatch(patterns.map((p) => (p.endsWith("/") ? `${p}*` : p)), { bash: true, dot: true });
  const allowed = allow && allow.length > 0 ? compile(allow) : () => true;
  const ignored = ignore && ignore.length > 0 ? compile(ignore) : () => false;
  return (path) => allowed(path) && !ignored(path);
}

/** A path the hub lists must stay inside the snapshot directory. */
function safeRelativePath(path: string): boolean {
  return path !== "" && !path.startsWith("/") && !path.includes("\\") && !path.includes("\0") && path.split("/").every((part) => part !== "" && part !== "." && part !== "..");
}

async function readManifest(directory: string): Promise<Manifest | undefined> {
  try {
    return JSON.parse(await readFile(join(directory, MANIFEST), "utf8")) as Manifest;
  } catch {
    return undefined;
  }
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch {
    return undefined;
  }
}

/** A file of the manifest that is on disk with its recorded size (its content was verified when it was written). */
async function alreadyPresent(directory: string, manifest: Manifest | undefined, path: string, etag?: string): Promise<boolean> {
  const entry = manifest?.files[path];
  if (!entry || (etag !== undefined && entry.etag !== etag)) return false;
  return (await sizeOf(join(directory, path))) === entry.size;
}

/** The file's digest as the hub's etag states it: sha256 for LFS files, the git blob sha1 otherwise. */
async function digestOf(path: string, verification: Verification, size: number): Promise<string> {
  const hash = createHash(verification === "git-sha1" ? "sha1" : "sha256");
  // A git blob id is the sha1 of "blob <size>\0" followed by the content.
  if (verification === "git-sha1") hash.update(`blob ${size}\0`);
  for await (const chunk of chunksOf(Bun.file(path).stream())) hash.update(chunk);
  return hash.digest("hex");
}

async function* chunksOf(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

function isDiskFull(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === "ENOSPC" || code === "EDQUOT";
}

/** Progress over the whole snapshot: bytes of finished files plus the current file's. */
class Reporter {
  private last = 0;
  bytesFinished = 0;
  filesDone = 0;

  constructor(
    private readonly context: TaskContext<Args>,
    private readonly bytesTotal: number,
    private readonly filesTotal: number,
  ) {}

  async report(file: string, fileBytes: number, fileTotal: number, force = false): Promise<void> {
    const now = Date.now();
    if (!force && now - this.last < PROGRESS_EVERY_MS) return;
    this.last = now;
    const bytesDone = this.bytesFinished + fileBytes;
    await this.context.progress({
      percent: this.bytesTotal === 0 ? 100 : Math.min(100, Math.floor((bytesDone / this.bytesTotal) * 100)),
      bytes_done: bytesDone,
      bytes_total: this.bytesTotal,
      files_done: this.filesDone,
      files_total: this.filesTotal,
      file,
      file_bytes: fileBytes,
      file_total: fileTotal,
    });
  }
}

/** One GET from `have` on, appended to the partial file. A 200 to a Range request means the server cannot resume: the file starts over. */
async function transfer(hub: HubClient, url: string, meta: FileMetadata, partial: string, have: number, reporter: Reporter, context: TaskContext<Args>): Promise<void> {
  const response = await hub.download(url, have, context.signal).catch(rethrowPermanent);
  let offset = have;
  if (have > 0) {
    const range = /^bytes (\d+)-/.exec(response.headers.get("content-range") ?? "");
    if (response.status === 200 || !range || Number(range[1]) !== have) {
      await context.log(`${meta.path}: the server did not resume at byte ${have}; downloading the file whole`);
      await truncate(partial, 0);
      offset = 0;
    } else {
      await context.log(`${meta.path}: resuming at byte ${have} of ${meta.size}`);
    }
  }
  const file = await open(partial, "a");
  try {
    for await (const chunk of chunksOf(response.body!)) {
      await file.write(chunk);
      offset += chunk.length;
      if (offset > meta.size) throw permanent(new RuntimeError(`${meta.path}: the hub sent more than the ${meta.size} bytes it announced`));
      await reporter.report(meta.path, offset, meta.size);
    }
  } finally {
    await file.close();
  }
  if (offset < meta.size) throw new Error(`the connection closed at byte ${offset} of ${meta.size}`);
}

interface FileOutcome {
  path: string;
  bytes: number;
  resumed_from: number;
  verified: Verification;
}

/**
 * Downloads one file into its partial name, resuming with a Range request from what is there
 * (after a crash, a revoke or a cut connection), then verifies it and moves it into place. The
 * partial file survives an abort so that the next run resumes; a verification failure, a full
 * disk or a file the hub refuses delete it.
 */
async function downloadFile(hub: HubClient, url: string, meta: FileMetadata, partial: string, target: string, reporter: Reporter, context: TaskContext<Args>): Promise<FileOutcome> {
  const verification = verificationOf(meta.etag);
  await mkdir(dirname(partial), { recursive: true });
  const startedFrom = Math.min((await sizeOf(partial)) ?? 0, meta.size);
  for (let resumes = 0; ; resumes++) {
    let have = (await sizeOf(partial)) ?? 0;
    if (have > meta.size) {
      await truncate(partial, 0);
      have = 0;
    }
    try {
      if (have < meta.size) await transfer(hub, url, meta, partial, have, reporter, context);
      break;
    } catch (error) {
      if (context.signal.aborted) throw context.signal.reason;
      if (isDiskFull(error)) {
        await rm(partial, { force: true });
        throw permanent(new RuntimeError(`disk full while writing ${meta.path} (${errorMessage(error)}); the partial file was deleted`));
      }
      if ((error as Error).name === "UnrecoverableError") {
        // The hub refuses the file or sent something else: what is on disk cannot be resumed.
        await rm(partial, { force: true });
        throw error;
      }
      // Unreachable hub, 5xx, a cut connection: the partial file stays, for this loop or the job's next attempt.
      if (resumes >= MAX_RESUMES) {
        const kept = (await sizeOf(partial)) ?? 0;
        throw new RuntimeError(`${meta.path}: transfer failed ${MAX_RESUMES + 1} times in a row (last: ${errorMessage(error)}); ${kept} bytes are kept for the next attempt to resume`);
      }
      await context.log(`${meta.path}: transfer interrupted (${errorMessage(error)}); resuming`);
    }
  }
  const size = (await sizeOf(partial)) ?? 0;
  const digest = verification === "size" ? undefined : await digestOf(partial, verification, size);
  if (size !== meta.size || (digest !== undefined && digest !== meta.etag.toLowerCase())) {
    await rm(partial, { force: true });
    const found = size !== meta.size ? `${size} bytes instead of ${meta.size}` : `${verification} ${digest} instead of ${meta.etag}`;
    throw new RuntimeError(`checksum mismatch for ${meta.path}: got ${found}; the downloaded file was deleted`);
  }
  await mkdir(dirname(target), { recursive: true });
  await rename(partial, target);
  return { path: meta.path, bytes: meta.size - startedFrom, resumed_from: startedFrom, verified: verification };
}

/** Removes empty directories from `directory` up to (not including) `stop`. */
async function removeEmptyDirectories(directory: string, stop: string): Promise<void> {
  let current = directory;
  while (current.startsWith(`${stop}/`)) {
    try {
      if ((await readdir(current)).length > 0) return;
      await rmdir(current);
    } catch {
      return;
    }
    current = dirname(current);
  }
}

/** Snapshot download of a Hugging Face-compatible hub repository into models.dir/<repo_id>. */
export default defineTask({
  name: "services.tasks.run_huggingface_download_task",
  description: "Download a model repository snapshot from a Hugging Face-compatible hub into models.dir (resumable, verified)",
  queue: "llmctl_studio.downloads.huggingface",
  timeout: "6h",
  attempts: 3,
  backoff: { type: "exponential", delay: "10s" },
  args: argsSchema,
  positional: ["repo_id"],
  async handler(context) {
    const modelsDir = context.config.models.dir;
    // The lock creates models.dir; a run that fails early leaves no empty directory behind.
    const keepUpTo = existsSync(modelsDir) ? modelsDir : dirname(modelsDir);
    const lockPath = join(modelsDir, ".partial", `${context.args.repo_id}.lock`);
    const release = await lockRepository(context, lockPath);
    try {
      return await downloadSnapshot(context);
    } finally {
      release();
      await removeEmptyDirectories(dirname(lockPath), keepUpTo);
    }
  },
});

/**
 * One download per repository and models directory at a time: two would append to the same
 * partial files. The second waits for the first (polling each second, revocable) and then
 * finds the files it downloaded already present.
 */
async function lockRepository(context: TaskContext<Args>, lockPath: string): Promise<() => void> {
  let announced = false;
  for (;;) {
    const attempt = tryLock(lockPath);
    if (attempt.held) return attempt.release;
    if (!announced) {
      announced = true;
      await context.log(`waiting: ${context.args.repo_id} is being downloaded into ${context.config.models.dir} by ${describeHolder(attempt.holder)} (lock ${lockPath})`);
      await context.progress({ percent: 0, phase: "waiting for another download of the same repository" });
    }
    await abortableSleep(1000, context.signal);
  }
}

async function downloadSnapshot(context: TaskContext<Args>) {
  const { args, config, signal, log } = context;
  const endpoint = process.env.HF_ENDPOINT || config.models.endpoint || DEFAULT_HUB;
  const token = process.env[config.models.token_env] || undefined;
  const hub = new HubClient(endpoint, token, signal);
  const modelsDir = config.models.dir;
  const target = join(modelsDir, args.repo_id);
  const partialDir = join(modelsDir, ".partial", args.repo_id);

  await context.progress({ percent: 0, phase: "listing files" });
  const info = await hub.modelInfo(args.repo_id, args.revision).catch(rethrowPermanent);
  const wanted = fileFilter(args.allow_patterns, args.ignore_patterns);
  const selected = info.siblings.map((sibling) => sibling.rfilename).filter(wanted).sort();
  const unsafe = selected.find((path) => !safeRelativePath(path));
  if (unsafe !== undefined) throw permanent(new RuntimeError(`the hub lists a file path that would leave the snapshot directory: ${JSON.stringify(unsafe)}`));
  if (selected.length === 0) {
    throw permanent(new RuntimeError(`no file of ${args.repo_id}@${args.revision} matches the allow/ignore patterns (${info.siblings.length} files in the repository)`));
  }
  const base = { repo_id: args.repo_id, revision: args.revision, commit: info.sha, path: target, endpoint };

  const manifest = await readManifest(target);
  const present = new Set<string>();
  if (manifest?.commit === info.sha) {
    for (const path of selected) if (await alreadyPresent(target, manifest, path)) present.add(path);
  }
  if (present.size === selected.length) {
    await log(`${args.repo_id}@${args.revision} (${info.sha}) is already complete in ${target}: nothing to do`);
    await context.progress({ percent: 100, files_done: selected.length, files_total: selected.length });
    return { ...base, status: "up_to_date", message: "already complete: nothing downloaded", files: selected.length, downloaded: [], bytes_downloaded: 0 };
  }

  // Metadata of every file still missing: sizes for the disk check and etags for verification.
  const pending: FileMetadata[] = [];
  for (const path of selected) {
    if (present.has(path)) continue;
    if (signal.aborted) throw signal.reason;
    const meta = await hub.fileMetadata(args.repo_id, info.sha, path).catch(rethrowPermanent);
    if (await alreadyPresent(target, manifest, path, meta.etag)) present.add(path);
    else pending.push(meta);
  }
  const partialOf = (meta: FileMetadata) => join(partialDir, `${meta.path}.${meta.etag.slice(0, 16)}.incomplete`);
  let needed = 0;
  for (const meta of pending) needed += meta.size - Math.min(meta.size, (await sizeOf(partialOf(meta))) ?? 0);
  const reserve = parseBytes(config.models.min_free) ?? 0;
  const available = await availableBytes(modelsDir);
  if (available - needed < reserve) {
    throw permanent(
      new RuntimeError(
        `not enough disk space for ${args.repo_id} in ${modelsDir}: ${formatBytes(needed)} to download, ${formatBytes(available)} available, ${formatBytes(reserve)} must stay free (models.min_free)`,
        "free some space, point models.dir at a larger disk, or lower models.min_free",
      ),
    );
  }
  await log(`${args.repo_id}@${args.revision} (${info.sha}): ${pending.length} of ${selected.length} files to download, ${formatBytes(needed)}`);

  const bytesTotal = pending.reduce((sum, meta) => sum + meta.size, 0);
  const reporter = new Reporter(context, bytesTotal, pending.length);
  const files: Record<string, ManifestEntry> = {};
  for (const path of present) files[path] = manifest!.files[path]!;
  const downloaded: FileOutcome[] = [];
  for (const meta of pending) {
    if (signal.aborted) throw signal.reason;
    const outcome = await downloadFile(hub, hub.resolveUrl(args.repo_id, info.sha, meta.path), meta, partialOf(meta), join(target, meta.path), reporter, context);
    downloaded.push(outcome);
    files[meta.path] = { size: meta.size, etag: meta.etag, verified: outcome.verified };
    reporter.bytesFinished += meta.size;
    reporter.filesDone++;
    await reporter.report(meta.path, 0, 0, true);
    await log(`${meta.path}: ${formatBytes(meta.size)} verified (${outcome.verified})${outcome.resumed_from > 0 ? `, resumed at byte ${outcome.resumed_from}` : ""}`);
    // Recorded after each file, so a later run skips what is done even if this one stops.
    writeFileAtomic(join(target, MANIFEST), `${JSON.stringify({ repo_id: args.repo_id, revision: args.revision, commit: info.sha, files } satisfies Manifest, null, 2)}\n`);
  }
  writeFileAtomic(join(target, MANIFEST), `${JSON.stringify({ repo_id: args.repo_id, revision: args.revision, commit: info.sha, files, completed_at: new Date().toISOString() } satisfies Manifest, null, 2)}\n`);
  if (existsSync(partialDir)) await rm(partialDir, { recursive: true, force: true });
  return {
    ...base,
    status: "downloaded",
    message: `${downloaded.length} file${downloaded.length === 1 ? "" : "s"} downloaded and verified, ${present.size} already present`,
    files: selected.length,
    downloaded,
    bytes_downloaded: downloaded.reduce((sum, file) => sum + file.bytes, 0),
  };
}

/** A 4xx from the hub will not change on retry. */
function rethrowPermanent(error: unknown): never {
  if (error instanceof HubError && error.status >= 400 && error.status < 500 && error.status !== 408 && error.status !== 429) throw permanent(error);
  throw error;
}
