import { isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node } from "yaml";
import { LlmctlError, EXIT_USAGE } from "../util/errors.ts";
import type { LoadedConfig } from "./load.ts";

export type Severity = "error" | "warning";

/** One finding about a config file: where it is, what is wrong, and how to fix it. */
export interface Diagnostic {
  severity: Severity;
  file: string;
  line: number;
  column: number;
  /** Dotted path of the offending value, e.g. schedules.nightly.cron. */
  path: string;
  message: string;
  fix?: string;
}

export type PathSegment = string | number;

export function formatPath(path: readonly PathSegment[]): string {
  return path.map((segment, index) => (typeof segment === "number" ? `[${segment}]` : index === 0 ? segment : `.${segment}`)).join("");
}

export function formatDiagnostic(diagnostic: Diagnostic): string {
  const where = `${diagnostic.file}:${diagnostic.line}:${diagnostic.column}`;
  const subject = diagnostic.path ? `${diagnostic.path}: ` : "";
  const head = `${where}: ${diagnostic.severity}: ${subject}${diagnostic.message}`;
  return diagnostic.fix ? `${head}\n  fix: ${diagnostic.fix}` : head;
}

/** Thrown when a config file has errors; carries every error found, not only the first. */
export class ConfigError extends LlmctlError {
  readonly diagnostics: Diagnostic[];

  constructor(diagnostics: Diagnostic[]) {
    const errors = diagnostics.filter((d) => d.severity === "error");
    const summary = `${errors.length} error${errors.length === 1 ? "" : "s"} in ${errors[0]?.file ?? "the config"}`;
    super(`${diagnostics.map(formatDiagnostic).join("\n")}\n${summary}`, { exitCode: EXIT_USAGE });
    this.diagnostics = diagnostics;
  }
}

/** Turns an offset in the source text into 1-based line and column numbers. */
export class SourceLocator {
  constructor(
    readonly file: string,
    private readonly document: Document.Parsed | undefined,
    private readonly lines: LineCounter,
  ) {}

  position(offset: number): { line: number; column: number } {
    const { line, col } = this.lines.linePos(offset);
    return { line, column: col };
  }

  /**
   * The position of the value at `path`, or of its key when `at` is "key". When the path does
   * not exist (a missing required key), the nearest existing parent is used.
   */
  locate(path: readonly PathSegment[], at: "key" | "value" = "value"): { line: number; column: number } {
    let node: Node | null | undefined = this.document?.contents;
    let offset = node?.range?.[0] ?? 0;
    for (let index = 0; index < path.length; index++) {
      const segment = path[index]!;
      const last = index === path.length - 1;
      if (isMap(node)) {
        const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(segment));
        if (!pair) break;
        const key = pair.key as Node;
        if (last && at === "key") {
          offset = key.range?.[0] ?? offset;
          break;
        }
        node = pair.value as Node | null;
        offset = node?.range?.[0] ?? key.range?.[0] ?? offset;
      } else if (isSeq(node) && typeof segment === "number") {
        const item = node.items[segment] as Node | undefined;
        if (!item) break;
        node = item;
        offset = item.range?.[0] ?? offset;
      } else {
        break;
      }
    }
    return this.position(offset);
  }

  diagnostic(
    severity: Severity,
    path: readonly PathSegment[],
    message: string,
    fix?: string,
    at: "key" | "value" = "value",
  ): Diagnostic {
    const { line, column } = this.locate(path, at);
    return { severity, file: this.file, line, column, path: formatPath(path), message, fix };
  }
}

/** An error at a path of the loaded file (file:line:col when the file is known). */
export function errorAt(loaded: Pick<LoadedConfig, "locator" | "path">, path: PathSegment[], message: string, fix?: string): Diagnostic {
  return (
    loaded.locator?.diagnostic("error", path, message, fix) ?? {
      severity: "error",
      file: loaded.path ?? "built-in default contract",
      line: 0,
      column: 0,
      path: formatPath(path),
      message,
      fix,
    }
  );
}
