/** Free disk space where a task is about to write, read with statfs (what `df` shows as Avail). */
import { statfs } from "node:fs/promises";
import { dirname } from "node:path";

/** Bytes an unprivileged process may still write on the filesystem holding `path` (or its nearest existing parent). */
export async function availableBytes(path: string): Promise<number> {
  let current = path;
  for (;;) {
    try {
      const stats = await statfs(current);
      return stats.bavail * stats.bsize;
    } catch (error) {
      const parent = dirname(current);
      if ((error as NodeJS.ErrnoException).code !== "ENOENT" || parent === current) throw error;
      current = parent;
    }
  }
}
