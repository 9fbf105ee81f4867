/**
 * Errors that users read. Every failure that reaches the command line is one of these, so the
 * process exits with a code that scripts can rely on: 2 for usage and configuration errors
 * (nothing was changed), 1 for runtime failures (a server unreachable, a check failed).
 */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export class LlmctlError extends Error {
  readonly exitCode: number;
  /** What the user can do about it; printed on its own line after the message. */
  readonly hint?: string;

  constructor(message: string, options: { exitCode?: number; hint?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.exitCode = options.exitCode ?? EXIT_FAILURE;
    this.hint = options.hint;
  }
}

/** Bad flags, bad arguments, unknown names: exit 2 and nothing changed. */
export class UsageError extends LlmctlError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: EXIT_USAGE, hint });
  }
}

/** A bad flag or argument: the command's --help shows the right form. */
export class FlagError extends UsageError {}

/** The thing named does not exist (unknown job id, schedule, queue): exit 2, HTTP 404. */
export class NotFoundError extends UsageError {}

/** The request is valid but the thing is in the wrong state for it (retry a running job): exit 1, HTTP 409. */
export class ConflictError extends LlmctlError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: EXIT_FAILURE, hint });
  }
}

/** A runtime failure the user can fix (unreachable server, failed check): exit 1. */
export class RuntimeError extends LlmctlError {
  constructor(message: string, hint?: string, cause?: unknown) {
    super(message, { exitCode: EXIT_FAILURE, hint, cause });
  }
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === "string") return error;
  try {
    return JSON.stringify(error);
  } catch {
    return String(error);
  }
}
