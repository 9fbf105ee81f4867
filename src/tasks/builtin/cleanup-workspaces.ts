import { lstat, readdir, realpath, rm } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { defineTask } from "../define.ts";
import { formatDuration, parseDurationMs } from "../../util/duration.ts";
import { RuntimeError } from "../../util/errors.ts";

const argsSchema = z.strictObject({
  root: z.string().min(1).optional().describe("directory of workspaces (default: workspaces.root from the config)"),
  max_age: z.string().refine((value) => parseDurationMs(value) !== undefined, "a duration such as 7d").optional().describe("remove workspaces not modified for this long (default: workspaces.max_age)"),
  dry_run: z.boolean().default(false).describe("report what would be removed, remove nothing"),
});

interface TreeStats {
  bytes: number;
  /** Newest modification time anywhere in the tree: a workspace in use is not stale. */
  newestMtimeMs: number;
}

/** Sizes a tree without following symbolic links, so nothing outside the root is counted or touched. */
async function treeStats(path: string, signal: AbortSignal): Promise<TreeStats> {
  const stats = await lstat(path);
  let result: TreeStats = { bytes: stats.isDirectory() ? 0 : stats.size, newestMtimeMs: stats.mtimeMs };
  if (!stats.isDirectory()) return result;
  for (const entry of await readdir(path, { withFileTypes: true })) {
    if (signal.aborted) throw signal.reason;
    const child = join(path, entry.name);
    const childStats = entry.isDirectory() ? await treeStats(child, signal) : await lstat(child).then((s) => ({ bytes: s.size, newestMtimeMs: s.mtimeMs }));
    result = { bytes: result.bytes + childStats.bytes, newestMtimeMs: Math.max(result.newestMtimeMs, childStats.newestMtimeMs) };
  }
  return result;
}

/** Removes workspace directories older than max_age under root; reports count and bytes freed. */
export default defineTask({
  name: "services.tasks.cleanup_workspaces",
  description: "Remove workspace directories not modified for max_age under the workspace root",
  timeout: "30m",
  attempts: 1,
  args: argsSchema,
  async handler({ args, config, signal, progress, log }) {
    const root = args.root ?? config.workspaces.root;
    const maxAge = args.max_age ?? config.workspaces.max_age;
    const maxAgeMs = parseDurationMs(maxAge)!;
    let realRoot: string;
    try {
      realRoot = await realpath(root);
      if (!(await lstat(realRoot)).isDirectory()) throw new Error("not a directory");
    } catch (error) {
      throw new RuntimeError(`workspace root ${root} is not a readable directory (${(error as Error).message})`);
    }
    const now = Date.now();
    const entries = await readdir(realRoot, { withFileTypes: true });
    const removed: Array<{ name: string; bytes: number; idle: string }> = [];
    const skipped: Array<{ name: string; reason: string }> = [];
    let bytesFreed = 0;
    let kept = 0;
    for (const [index, entry] of entries.entries()) {
      if (signal.aborted) throw signal.reason;
      const path = join(realRoot, entry.name);
      if (entry.isSymbolicLink()) {
        skipped.push({ name: entry.name, reason: "symbolic link (never followed)" });
      } else if (!entry.isDirectory()) {
        skipped.push({ name: entry.name, reason: "not a directory" });
      } else {
        const stats = await treeStats(path, signal);
        const idleMs = now - stats.newestMtimeMs;
        if (idleMs < maxAgeMs) {
          kept++;
        } else {
          if (!args.dry_run) await rm(path, { recursive: true, force: true });
          removed.push({ name: entry.name, bytes: stats.bytes, idle: formatDuration(idleMs) });
          bytesFreed += stats.bytes;
          await log(`${args.dry_run ? "would remove" : "removed"} ${entry.name} (${stats.bytes} bytes, idle ${formatDuration(idleMs)})`);
        }
      }
      await progress(Math.round(((index + 1) / entries.length) * 100));
    }
    return { root: realRoot, max_age: maxAge, dry_run: args.dry_run, removed: removed.length, bytes_freed: bytesFreed, kept, workspaces: removed, skipped };
  },
});
