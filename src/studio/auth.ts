/**
 * Who may call the studio. One bearer token (LLMCTL_STUDIO_TOKEN, a token file, or one handed
 * in by `llmctl up`) guards every change, and reads unless `studio.public_read`. The dashboard
 * trades the token once for an HttpOnly session cookie, because EventSource cannot send an
 * Authorization header; changes made with the cookie must also carry a header that a page on
 * another origin cannot add without a CORS preflight, which the studio never grants.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { ENV, type Env } from "../config/env.ts";
import type { ConfigFile } from "../config/schema.ts";
import { UsageError, errorMessage } from "../util/errors.ts";
import { ApiError } from "./http.ts";

export type Access = "public" | "read" | "write";

export const SESSION_COOKIE = "llmctl_studio_session";
/** Sent by the dashboard with every change; a cross-origin form or fetch cannot set it unpreflighted. */
export const DASHBOARD_HEADER = "x-requested-by";
export const DASHBOARD_HEADER_VALUE = "llmctl-studio";

export interface StudioToken {
  token?: string;
  /** Where it came from, for the start-up log (never the token itself). */
  origin: "--token-file" | typeof ENV.studioToken | "studio.token_file" | "given" | "none";
}

function readTokenFile(path: string, origin: string): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new UsageError(`studio token file ${path} (${origin}) cannot be read: ${errorMessage(error)}`, "fix the path or its permissions, or set LLMCTL_STUDIO_TOKEN");
  }
  const token = text.trim();
  if (token === "") throw new UsageError(`studio token file ${path} (${origin}) is empty`, "write the token into it, e.g. openssl rand -hex 32 > FILE");
  if (/\s/.test(token)) throw new UsageError(`studio token file ${path} (${origin}) holds more than one word`, "the file should hold only the token");
  return token;
}

/** Precedence: a token given by the caller > --token-file > LLMCTL_STUDIO_TOKEN > studio.token_file (relative to the config file). */
export function resolveStudioToken(options: { token?: string; tokenFile?: string; env: Env; config: ConfigFile; configPath?: string }): StudioToken {
  if (options.token) return { token: options.token, origin: "given" };
  if (options.tokenFile) return { token: readTokenFile(resolve(options.tokenFile), "--token-file"), origin: "--token-file" };
  const fromEnv = options.env[ENV.studioToken]?.trim();
  if (fromEnv) return { token: fromEnv, origin: ENV.studioToken };
  if (options.config.studio.token_file) {
    const base = options.configPath ? dirname(options.configPath) : process.cwd();
    return { token: readTokenFile(resolve(base, options.config.studio.token_file), "studio.token_file"), origin: "studio.token_file" };
  }
  return { origin: "none" };
}

export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "").toLowerCase();
  return bare === "localhost" || bare === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare);
}

/** Equal-time comparison of two secrets of any length: both are hashed to 32 bytes first. */
function sameSecret(a: string, b: string): boolean {
  const digest = (value: string) => createHash("sha256").update(value).digest();
  return timingSafeEqual(digest(a), digest(b));
}

function cookieValue(request: Request, name: string): string | undefined {
  for (const part of (request.headers.get("cookie") ?? "").split(";")) {
    const separator = part.indexOf("=");
    if (separator > 0 && part.slice(0, separator).trim() === name) return part.slice(separator + 1).trim();
  }
  return undefined;
}

export class StudioAuth {
  private readonly session?: string;

  constructor(
    private readonly token: string | undefined,
    readonly publicRead: boolean,
  ) {
    // The cookie holds a value derived from the token, not the token: rotating the token ends every session.
    if (token) this.session = createHmac("sha256", token).update("llmctl studio session v1").digest("base64url");
  }

  get required(): boolean {
    return this.token !== undefined;
  }

  /** Whether the string is the token (for the dashboard's sign-in). */
  isToken(candidate: string): boolean {
    return this.token !== undefined && sameSecret(candidate, this.token);
  }

  /** How the request proved itself: a bearer token, the dashboard's cookie, or not at all. */
  private credential(request: Request): "bearer" | "cookie" | "invalid" | "none" {
    if (!this.token || !this.session) return "none";
    const header = request.headers.get("authorization");
    if (header) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
      return match && sameSecret(match[1]!, this.token) ? "bearer" : "invalid";
    }
    const cookie = cookieValue(request, SESSION_COOKIE);
    if (cookie !== undefined) return sameSecret(cookie, this.session) ? "cookie" : "invalid";
    return "none";
  }

  isAuthenticated(request: Request): boolean {
    const credential = this.credential(request);
    return credential === "bearer" || credential === "cookie";
  }

  /** Throws 401/403 unless the request may use an endpoint with this access level. */
  authorize(request: Request, access: Access): void {
    if (access === "public" || !this.token) return;
    if (access === "read" && this.publicRead) return;
    const credential = this.credential(request);
    const challenge = { "www-authenticate": 'Bearer realm="llmctl studio"' };
    if (credential === "none") {
      throw new ApiError(401, "unauthorized", "this endpoint needs the studio token", {
        hint: "send Authorization: Bearer <token> (the token is LLMCTL_STUDIO_TOKEN or the studio's token file)",
        headers: challenge,
      });
    }
    if (credential === "invalid") {
      throw new ApiError(401, "unauthorized", "the token is not valid", { hint: "check LLMCTL_STUDIO_TOKEN or the token file the studio was started with", headers: challenge });
    }
    if (credential === "cookie" && access === "write" && request.headers.get(DASHBOARD_HEADER) !== DASHBOARD_HEADER_VALUE) {
      throw new ApiError(403, "forbidden", `changes made with the dashboard's session cookie must send ${DASHBOARD_HEADER}: ${DASHBOARD_HEADER_VALUE}`, {
        hint: "scripts should send Authorization: Bearer <token> instead of the cookie",
      });
    }
  }

  /** Set-Cookie for a signed-in dashboard: HttpOnly (no script reads it), SameSite=Strict, for this browser session only. */
  sessionCookie(secure: boolean): string {
    return `${SESSION_COOKIE}=${this.session ?? ""}; Path=/; HttpOnly; SameSite=Strict${secure ? "; Secure" : ""}`;
  }

  clearedCookie(): string {
    return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`;
  }
}
