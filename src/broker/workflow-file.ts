/**
 * A workflow written in a file for `llmctl task --steps FILE`: YAML or JSON, either a list of
 * steps or an object with `steps:` (or `nodes:` for a graph). Mistakes are reported at their
 * file:line:col, as config errors are.
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { LineCounter, parseDocument } from "yaml";
import { SourceLocator, type PathSegment } from "../config/diagnostics.ts";
import { errorMessage, UsageError } from "../util/errors.ts";
import { EnqueueError, fieldSegments } from "./producer.ts";

export interface WorkflowFile {
  /** The arguments of llmctl.workflow. */
  args: Record<string, unknown>;
  /** Rethrows an enqueue refusal of these arguments with the position of the mistake in the file. */
  explain(error: unknown): never;
}

export function readWorkflowFile(path: string): WorkflowFile {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new UsageError(`--steps: cannot read ${path}: ${errorMessage(error)}`, "give a YAML or JSON file with a list of steps");
  }
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const locator = new SourceLocator(path, document, lineCounter);
  const firstError = document.errors[0];
  if (firstError) {
    const { line, column } = locator.position(firstError.pos[0]);
    throw new UsageError(`${path}:${line}:${column}: YAML syntax: ${firstError.message.split("\n")[0]}`, "fix the YAML (or JSON) syntax");
  }
  const raw: unknown = document.toJS();
  const isList = Array.isArray(raw);
  if (!isList && (raw === null || typeof raw !== "object")) {
    throw new UsageError(`${path}: expected a list of steps, or a mapping with steps: (or nodes:)`, "for example:\n- { task: llmctl.ping, targets: [webserver] }\n- { task: shell, args: { argv: [/bin/true] } }");
  }
  const args = isList ? { name: basename(path), steps: raw } : { name: basename(path), ...(raw as Record<string, unknown>) };
  return {
    args,
    explain(error) {
      if (!(error instanceof EnqueueError) || !error.field.startsWith("args.")) throw error;
      const segments: PathSegment[] = fieldSegments(error.field).slice(1);
      const inFile = isList && segments[0] === "steps" ? segments.slice(1) : segments;
      const { line, column } = locator.locate(inFile);
      throw new UsageError(`${path}:${line}:${column}: ${error.message}`, error.hint);
    },
  };
}
