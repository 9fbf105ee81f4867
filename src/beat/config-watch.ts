/**
 * Notices that the config file changed. The directory is watched rather than the file: editors
 * replace files by rename, and Kubernetes swaps a mounted ConfigMap by re-pointing a symlink in
 * the directory, and neither fires an event on the old file. Events are coalesced and a reload
 * is asked for only when the content really differs.
 */
import { watch, type FSWatcher } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname } from "node:path";

const SETTLE_MS = 250;

export interface ConfigWatch {
  close(): void;
}

export function watchConfigFile(path: string, onChange: () => void, onError: (error: unknown) => void): ConfigWatch {
  let last: string | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const contentHash = async () => Bun.hash(await readFile(path)).toString(16);
  void contentHash().then((hash) => (last ??= hash), () => {});
  const check = async () => {
    let hash: string;
    try {
      hash = await contentHash();
    } catch {
      return; // mid-replace, or removed: the next event (or none) decides
    }
    if (hash === last) return;
    last = hash;
    onChange();
  };
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(path), () => {
      clearTimeout(timer);
      timer = setTimeout(() => void check(), SETTLE_MS);
    });
    watcher.on("error", onError);
  } catch (error) {
    onError(error);
  }
  return {
    close() {
      clearTimeout(timer);
      watcher?.close();
    },
  };
}
