import { renameSync, writeFileSync, rmSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/** Writes via a temporary file and rename, so readers never see a half-written file. */
export function writeFileAtomic(path: string, content: string | Uint8Array, mode?: number): void {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  try {
    writeFileSync(temporary, content, mode === undefined ? undefined : { mode });
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}
