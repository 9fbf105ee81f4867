/**
 * A client for a Hugging Face-compatible hub: the model info API, file metadata from a HEAD on
 * the resolve URL (the X-Linked-* headers of LFS files), and ranged downloads. Redirects are
 * followed by hand so that the metadata of the first answer is read (the CDN's own answer does
 * not carry it) and the token is never sent to another origin.
 */
import { RuntimeError } from "../util/errors.ts";

export const DEFAULT_HUB = "https://huggingface.co";
const MAX_REDIRECTS = 5;

export interface HubSibling {
  rfilename: string;
  size?: number;
  blobId?: string;
  lfs?: { sha256?: string; size?: number };
}

export interface ModelInfo {
  id: string;
  /** The commit the revision resolved to. */
  sha: string;
  siblings: HubSibling[];
}

export interface FileMetadata {
  path: string;
  size: number;
  /** sha256 (64 hex) for LFS files, the git blob sha1 (40 hex) for others; quotes and W/ removed. */
  etag: string;
  commit?: string;
}

/** A hub answer that is final for this job: retrying would get the same answer. */
export class HubError extends RuntimeError {
  constructor(
    message: string,
    readonly status: number,
    hint?: string,
  ) {
    super(message, hint);
  }
}

function encodePath(path: string): string {
  return path.split("/").map(encodeURIComponent).join("/");
}

function cleanEtag(value: string | null): string | undefined {
  if (!value) return undefined;
  return value.replace(/^W\//, "").replace(/^"|"$/g, "");
}

export class HubClient {
  constructor(
    readonly endpoint: string,
    private readonly token: string | undefined,
    private readonly signal: AbortSignal,
  ) {}

  resolveUrl(repo: string, revision: string, path: string): string {
    return `${this.endpoint.replace(/\/$/, "")}/${repo}/resolve/${encodeURIComponent(revision)}/${encodePath(path)}`;
  }

  async modelInfo(repo: string, revision: string): Promise<ModelInfo> {
    const url = `${this.endpoint.replace(/\/$/, "")}/api/models/${repo}/revision/${encodeURIComponent(revision)}?blobs=true`;
    const response = await this.request(url, "GET");
    if (!response.ok) throw await this.failure(response, `${repo}@${revision}`, repo);
    let body: unknown;
    try {
      body = await response.json();
    } catch {
      throw new HubError(`the hub at ${this.endpoint} answered the model info of ${repo} with something that is not JSON`, response.status);
    }
    const info = body as Partial<ModelInfo>;
    if (typeof info.sha !== "string" || !Array.isArray(info.siblings) || !info.siblings.every((s) => typeof s?.rfilename === "string")) {
      throw new HubError(`the hub at ${this.endpoint} answered the model info of ${repo} without a commit sha and a list of files`, response.status);
    }
    return { id: info.id ?? repo, sha: info.sha, siblings: info.siblings };
  }

  /** HEAD on the resolve URL, without following redirects: LFS metadata is on the first answer. */
  async fileMetadata(repo: string, commit: string, path: string): Promise<FileMetadata> {
    const response = await this.request(this.resolveUrl(repo, commit, path), "HEAD", { "Accept-Encoding": "identity" }, "manual");
    if (response.status >= 400) throw await this.failure(response, `${path} in ${repo}`, undefined);
    const etag = cleanEtag(response.headers.get("x-linked-etag")) ?? cleanEtag(response.headers.get("etag"));
    const sizeHeader = response.headers.get("x-linked-size") ?? response.headers.get("content-length");
    const size = sizeHeader === null ? Number.NaN : Number(sizeHeader);
    if (!etag || !Number.isSafeInteger(size) || size < 0) {
      throw new HubError(`the hub gave no etag or size for ${path} in ${repo} (HEAD ${response.status}); it cannot be verified`, response.status);
    }
    return { path, size, etag, commit: response.headers.get("x-repo-commit") ?? undefined };
  }

  /** GET from byte `from` on, following redirects; 200 means the server ignored the range. */
  async download(url: string, from: number, signal: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = { "Accept-Encoding": "identity" };
    if (from > 0) headers.Range = `bytes=${from}-`;
    const response = await this.request(url, "GET", headers, "follow-by-hand", signal);
    if (response.status !== 200 && response.status !== 206) throw await this.failure(response, url, undefined);
    return response;
  }

  private async request(url: string, method: string, headers: Record<string, string> = {}, redirects: "manual" | "follow-by-hand" = "follow-by-hand", signal = this.signal): Promise<Response> {
    const origin = new URL(url).origin;
    let current = url;
    for (let hop = 0; ; hop++) {
      const sameOrigin = new URL(current).origin === origin;
      let response: Response;
      try {
        response = await fetch(current, {
          method,
          redirect: "manual",
          signal,
          headers: { ...headers, ...(this.token && sameOrigin ? { Authorization: `Bearer ${this.token}` } : {}) },
        });
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        throw new RuntimeError(`cannot reach the hub at ${new URL(current).origin}: ${(error as Error).message}`);
      }
      const location = response.headers.get("location");
      if (redirects === "manual" || response.status < 300 || response.status >= 400 || !location) return response;
      if (hop >= MAX_REDIRECTS) throw new HubError(`more than ${MAX_REDIRECTS} redirects from ${url}`, response.status);
      await response.body?.cancel();
      current = new URL(location, current).toString();
    }
  }

  /** The hub's answer as a precise reason; X-Error-Code is what huggingface.co sends with 401/404. */
  private async failure(response: Response, what: string, repo: string | undefined): Promise<HubError> {
    const status = response.status;
    const code = response.headers.get("x-error-code");
    const detail = response.headers.get("x-error-message") ?? (await response.text().catch(() => "")).slice(0, 200).trim();
    const answered = `hub answered ${status}${detail ? `: ${detail}` : ""}`;
    const tokenHint = "for a private or gated repository set the token variable (models.token_env, default HF_TOKEN)";
    if (code === "RevisionNotFound") return new HubError(`${what}: revision not found (${answered})`, status, "check the revision: a branch, tag or commit sha");
    if (code === "EntryNotFound") return new HubError(`${what}: no such file (${answered})`, status);
    if (code === "GatedRepo") return new HubError(`${what}: the repository is gated (${answered})`, status, tokenHint);
    // huggingface.co answers 401 for a repository that does not exist and for a private one alike.
    if (repo && (code === "RepoNotFound" || status === 401 || status === 404)) {
      return new HubError(`repository ${repo} was not found on ${this.endpoint}${status === 404 ? "" : " or needs a token"} (${answered})`, status, `check the repository id (owner/name); ${tokenHint}`);
    }
    if (status === 401 || status === 403) return new HubError(`the hub refused ${what} (${answered})`, status, tokenHint);
    return new HubError(`${what}: ${answered}`, status);
  }
}
