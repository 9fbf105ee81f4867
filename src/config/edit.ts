/**
 * `llmctl config edit`: edit a copy, validate it, and only then replace the file, so the file
 * on disk is never left invalid. On errors the user may re-open the editor; declining keeps the
 * original untouched and says where the rejected edit was kept.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { formatDiagnostic } from "./diagnostics.ts";
import { parseConfig, readConfigText } from "./load.ts";
import { EXIT_USAGE, LlmctlError, RuntimeError, UsageError } from "../util/errors.ts";
import { writeFileAtomic } from "../util/fs.ts";

export type EditOutcome = "saved" | "unchanged";

export interface EditOptions {
  /** The editor command line, e.g. "vim" or "code --wait". */
  editor: string;
  /** Asks whether to re-open after errors; undefined when there is no terminal to ask on. */
  askReopen?: () => boolean;
  log: (line: string) => void;
}

export function editorCommand(env: Record<string, string | undefined>): string {
  return env.VISUAL || env.EDITOR || "vi";
}

function runEditor(editor: string, file: string): void {
  const argv = [...editor.split(/\s+/).filter(Boolean), file];
  let result: ReturnType<typeof Bun.spawnSync>;
  try {
    result = Bun.spawnSync(argv, { stdin: "inherit", stdout: "inherit", stderr: "inherit" });
  } catch (error) {
    throw new UsageError(`cannot start editor "${editor}": ${(error as Error).message}`, "set $EDITOR to an installed editor, e.g. EDITOR=nano");
  }
  if (result.exitCode !== 0) {
    throw new RuntimeError(`editor "${editor}" exited with code ${result.exitCode}; the config was not changed`);
  }
}

export function editConfig(path: string, options: EditOptions): EditOutcome {
  const original = readConfigText(path, "--config");
  const directory = mkdtempSync(join(tmpdir(), "llmctl-edit-"));
  const draft = join(directory, basename(path));
  writeFileSync(draft, original);
  let keepDraft = false;
  try {
    for (;;) {
      runEditor(options.editor, draft);
      const edited = readFileSync(draft, "utf8");
      if (edited === original) {
        options.log(`${path}: no changes`);
        return "unchanged";
      }
      try {
        const { warnings } = parseConfig(edited, path);
        for (const warning of warnings) options.log(formatDiagnostic(warning));
        writeFileAtomic(path, edited);
        options.log(`${path}: saved`);
        return "saved";
      } catch (error) {
        if (!(error instanceof LlmctlError) || error.exitCode !== EXIT_USAGE) throw error;
        options.log(error.message);
        if (options.askReopen?.()) continue;
        keepDraft = true;
        throw new UsageError(
          `${path} was not changed because the edit has errors; the edit is kept in ${draft}`,
          `fix it and copy it over, or run llmctl config edit again`,
        );
      }
    }
  } finally {
    if (!keepDraft) rmSync(directory, { recursive: true, force: true });
  }
}
