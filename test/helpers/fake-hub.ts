/**
 * A Hugging Face-compatible hub on a free loopback port, serving the same API shapes as the
 * real one: model info with siblings (`/api/models/{repo}/revision/{rev}`), resolve URLs whose
 * HEAD carries X-Repo-Commit / X-Linked-Etag / X-Linked-Size, LFS files redirected to a "CDN"
 * path, Range requests, and the X-Error-Code headers of 401/404 answers. Behaviours under test
 * (a slow link, a cut connection, a corrupted file) are switched on per test.
 */
import { createHash } from "node:crypto";

export interface HubFile {
  content: Uint8Array;
  /** Stored in LFS: sha256 etag, served through a redirect. */
  lfs?: boolean;
}

export interface HubRepo {
  commit: string;
  /** Branches and tags that resolve to `commit` (plus the commit sha itself). */
  revisions?: string[];
  files: Record<string, HubFile>;
  /** Answered with 401 unless the request carries the hub's token. */
  private?: boolean;
}

export interface HubRequest {
  method: string;
  path: string;
  range: string | null;
  authorization: string | null;
}

export interface FakeHubOptions {
  token?: string;
}

export interface FakeHub {
  url: string;
  repos: Map<string, HubRepo>;
  requests: HubRequest[];
  /** Bytes per second for file bodies (0: as fast as possible). */
  bytesPerSecond: number;
  /** The next N file bodies stop after this many bytes with the connection cut. */
  cut: { afterBytes: number; times: number };
  /** Paths whose served bytes differ from the content their etag describes. */
  corrupted: Set<string>;
  stop(): Promise<void>;
}

export function sha256(content: Uint8Array): string {
  return createHash("sha256").update(content).digest("hex");
}

export function gitBlobSha1(content: Uint8Array): string {
  return createHash("sha1").update(`blob ${content.length}\0`).update(content).digest("hex");
}

function notFound(code: string, message: string, status = 404): Response {
  return new Response(JSON.stringify({ error: message }), { status, headers: { "X-Error-Code": code, "X-Error-Message": message, "Content-Type": "application/json" } });
}

export function startFakeHub(options: FakeHubOptions = {}): FakeHub {
  const hub: FakeHub = {
    url: "",
    repos: new Map(),
    requests: [],
    bytesPerSecond: 0,
    cut: { afterBytes: 0, times: 0 },
    corrupted: new Set(),
    async stop() {
      await Promise.all([server.stop(true), cdnServer.stop(true)]);
    },
  };

  const findRepo = (repoId: string, request: Request): HubRepo | Response => {
    const repo = hub.repos.get(repoId);
    const authorized = options.token !== undefined && request.headers.get("authorization") === `Bearer ${options.token}`;
    // As huggingface.co: a missing repository and a private one without a token look the same.
    if (!repo || (repo.private && !authorized)) return notFound("RepoNotFound", "Repository not found", 401);
    return repo;
  };
  const resolves = (repo: HubRepo, revision: string) => revision === repo.commit || (repo.revisions ?? ["main"]).includes(revision);

  const body = (content: Uint8Array, path: string, request: Request): Response => {
    const served = hub.corrupted.has(path) ? content.map((byte) => byte ^ 0xff) : content;
    const range = /^bytes=(\d+)-$/.exec(request.headers.get("range") ?? "");
    const start = range ? Number(range[1]) : 0;
    if (start > served.length) return new Response(null, { status: 416 });
    const slice = served.subarray(start);
    const cutAfter = hub.cut.times > 0 ? hub.cut.afterBytes : Number.POSITIVE_INFINITY;
    if (hub.cut.times > 0) hub.cut.times--;
    const chunkSize = 16 * 1024;
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (sent >= slice.length) return controller.close();
        if (sent >= cutAfter) {
          // Ends the body short of its Content-Length, as a dropped connection does.
          await Bun.sleep(50);
          return controller.close();
        }
        const size = Math.min(chunkSize, slice.length - sent, cutAfter - sent);
        if (hub.bytesPerSecond > 0) await Bun.sleep((size / hub.bytesPerSecond) * 1000);
        controller.enqueue(slice.subarray(sent, sent + size));
        sent += size;
      },
    });
    const headers: Record<string, string> = { "Content-Length": String(slice.length), "Accept-Ranges": "bytes", "Content-Type": "application/octet-stream" };
    if (range) headers["Content-Range"] = `bytes ${start}-${served.length - 1}/${served.length}`;
    return new Response(stream, { status: range ? 206 : 200, headers });
  };

  const record = (request: Request): string => {
    const path = decodeURIComponent(new URL(request.url).pathname);
    hub.requests.push({ method: request.method, path, range: request.headers.get("range"), authorization: request.headers.get("authorization") });
    return path;
  };

  // LFS files live on a CDN of another origin, as on huggingface.co: the token must not follow the redirect.
  const serve = (fetch: (request: Request) => Response | Promise<Response>) => Bun.serve({ port: 0, hostname: "127.0.0.1", idleTimeout: 0, fetch });
  const cdnServer = serve((request) => {
    const path = record(request);
    const cdn = /^\/cdn\/([0-9a-f]{64})\/(.+)$/.exec(path);
    if (!cdn) return new Response("not found", { status: 404 });
    if (request.headers.get("authorization")) return new Response("token sent to the CDN", { status: 400 });
    for (const repo of hub.repos.values()) {
      const file = repo.files[cdn[2]!];
      if (file && sha256(file.content) === cdn[1]) return body(file.content, cdn[2]!, request);
    }
    return new Response("no such blob", { status: 404 });
  });

  const server = serve((request) => {
    const path = record(request);

    const info = /^\/api\/models\/(.+)\/revision\/([^/]+)$/.exec(path);
    if (info) {
      const repo = findRepo(info[1]!, request);
      if (repo instanceof Response) return repo;
      if (!resolves(repo, info[2]!)) return notFound("RevisionNotFound", `Invalid rev id: ${info[2]}`);
      return Response.json({
        id: info[1],
        sha: repo.commit,
        siblings: Object.entries(repo.files).map(([rfilename, file]) => ({
          rfilename,
          size: file.content.length,
          blobId: gitBlobSha1(file.content),
          ...(file.lfs ? { lfs: { sha256: sha256(file.content), size: file.content.length, pointerSize: 134 } } : {}),
        })),
      });
    }

    const resolve = /^\/(.+?)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    if (resolve) {
      const [, repoId, revision, filePath] = resolve as unknown as [string, string, string, string];
      const repo = findRepo(repoId, request);
      if (repo instanceof Response) return repo;
      if (!resolves(repo, revision)) return notFound("RevisionNotFound", `Invalid rev id: ${revision}`);
      const file = repo.files[filePath];
      if (!file) return notFound("EntryNotFound", `${filePath} does not exist on "${revision}"`);
      const common = { "X-Repo-Commit": repo.commit };
      if (file.lfs) {
        const digest = sha256(file.content);
        const location = `http://127.0.0.1:${cdnServer.port}/cdn/${digest}/${encodeURIComponent(filePath)}`;
        return new Response(null, {
          status: 302,
          headers: { ...common, Location: location, "X-Linked-Etag": `"${digest}"`, "X-Linked-Size": String(file.content.length), ETag: `"${gitBlobSha1(new TextEncoder().encode(digest))}"` },
        });
      }
      if (request.method === "HEAD") {
        return new Response(null, { headers: { ...common, ETag: `"${gitBlobSha1(file.content)}"`, "Content-Length": String(file.content.length) } });
      }
      const response = body(file.content, filePath, request);
      response.headers.set("X-Repo-Commit", repo.commit);
      response.headers.set("ETag", `"${gitBlobSha1(file.content)}"`);
      return response;
    }
    return new Response("not found", { status: 404 });
  });
  hub.url = `http://127.0.0.1:${server.port}`;
  return hub;
}
