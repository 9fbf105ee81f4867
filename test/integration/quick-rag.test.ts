/** services.tasks.run_quick_rag_task over a small corpus, with the fake chat-completions endpoint. */
import { afterAll, afterEach, beforeAll, describe, expect, it, setDefaultTimeout } from "bun:test";
import { mkdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import quickRag from "../../src/tasks/builtin/quick-rag.ts";
import { chunkText, ftsQuery } from "../../src/tasks/rag-index.ts";
import { tempDir, yaml } from "../helpers/files.ts";
import { startFakeLlm, type FakeLlm } from "../helpers/fake-llm.ts";
import { expectStopsWithinASecond, handlerContext } from "../helpers/task-context.ts";

setDefaultTimeout(20_000);

const files = tempDir("llmctl-rag-");
const corpus = join(files.dir, "docs");
let llm: FakeLlm;

function ask(question: string, options: { signal?: AbortSignal; collection?: string } = {}): Promise<Record<string, unknown>> {
  const config = yaml`
    queues: [llmctl_studio]
    llm: { base_url: ${llm.url}, model: tiny-chat, max_retries: 0 }
    rag:
      index_dir: ${join(files.dir, "index")}
      top_k: 3
      collections:
        ops: { dir: ${corpus} }
  `;
  const context = handlerContext({ collection: options.collection ?? "ops", question, stream: true }, config, options.signal);
  return Promise.resolve(quickRag.handler(context as never)) as Promise<Record<string, unknown>>;
}

/** Answers from the sources it is given: names the port if a source states it, citing that source. */
function answerFromSources(): void {
  llm.respond = (request) => {
    const prompt = String(request.body.messages.at(-1)?.content);
    const source = /\[(\d+)\][^\n]*\n[^[]*?listens on port (\d+)/.exec(prompt);
    return { content: source ? `The studio listens on port ${source[2]} [${source[1]}].` : "The sources do not say." };
  };
}

beforeAll(() => {
  llm = startFakeLlm();
  mkdirSync(join(corpus, "runbooks"), { recursive: true });
  mkdirSync(join(corpus, ".git"), { recursive: true });
  writeFileSync(join(corpus, "deploy.md"), "# Deploying\n\nThe studio listens on port 8080 behind the ingress.\n\nRoll out with kubectl.\n");
  writeFileSync(join(corpus, "backup.txt"), "Backups run nightly at 02:00 with restic.\n");
  writeFileSync(join(corpus, "runbooks", "redis.md"), "Redis must run with maxmemory-policy noeviction.\n");
  writeFileSync(join(corpus, "image.png"), "not a document");
  writeFileSync(join(corpus, ".git", "HEAD"), "ref: refs/heads/main\n");
});
afterEach(() => {
  llm.answers.length = 0;
  llm.requests.length = 0;
  llm.respond = undefined;
});
afterAll(async () => {
  await llm.stop();
  files.cleanup();
});

describe("services.tasks.run_quick_rag_task", () => {
  it("indexes the collection, retrieves the matching chunk, and returns the answer with its cited source", async () => {
    answerFromSources();
    const result = await ask("Which port does the studio listen on?");
    expect(result.index).toMatchObject({ added: ["backup.txt", "deploy.md", "runbooks/redis.md"], updated: [], removed: [], unchanged: 0 });
    expect(result.answer).toBe("The studio listens on port 8080 [1].");
    expect(result.cited).toEqual([1]);
    expect((result.sources as Array<Record<string, unknown>>)[0]).toMatchObject({ n: 1, path: "deploy.md", start_line: 1 });
    expect(result.usage).toEqual({ prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 });
    const prompt = String(llm.requests[0]!.body.messages.at(-1)?.content);
    expect(prompt).toContain("[1] deploy.md (lines 1-");
    expect(prompt).toEndWith("Question: Which port does the studio listen on?");
  });

  it("re-indexes only the files that changed: new content, not a touched mtime", async () => {
    answerFromSources();
    expect((await ask("studio port")).index).toMatchObject({ added: [], updated: [], removed: [], unchanged: 3 });

    writeFileSync(join(corpus, "deploy.md"), "# Deploying\n\nThe studio listens on port 9090 now.\n");
    const later = new Date(Date.now() + 5000);
    utimesSync(join(corpus, "backup.txt"), later, later); // touched, same content
    rmSync(join(corpus, "runbooks", "redis.md"));
    writeFileSync(join(corpus, "runbooks", "dns.txt"), "DNS is served by CoreDNS.\n");
    const result = await ask("Which port does the studio listen on?");
    expect(result.index).toMatchObject({ added: ["runbooks/dns.txt"], updated: ["deploy.md"], removed: ["runbooks/redis.md"], unchanged: 1 });
    expect(result.answer).toBe("The studio listens on port 9090 [1].");
    expect((await ask("noeviction policy")).sources).toEqual([]);
  });

  it("does not ask the LLM when no document matches", async () => {
    const result = await ask("zebra quasar");
    expect(result).toMatchObject({ sources: [], model: null, answer: "No document in collection ops matches the question; the LLM was not asked." });
    expect(llm.requests).toEqual([]);
  });

  it("fails an unknown collection with the configured names", async () => {
    await expect(ask("x", { collection: "wiki" })).rejects.toThrow("no collection named wiki in rag.collections (configured: ops)");
  });

  it("stops within a second when aborted while the answer streams", async () => {
    llm.answers.push({ content: Array.from({ length: 100 }, (_, i) => `w${i}`).join(" "), delayPerChunkMs: 50 });
    await expectStopsWithinASecond((signal) => ask("studio port", { signal }));
  });
});

describe("chunks and queries", () => {
  it("cuts long text at blank lines into chunks with line numbers", () => {
    const paragraph = (n: number) => `${"word ".repeat(100).trim()} ${n}`;
    const text = [paragraph(1), "", paragraph(2), "", paragraph(3)].join("\n");
    expect(chunkText(text).map((chunk) => [chunk.start_line, chunk.end_line])).toEqual([[1, 4], [5, 5]]);
  });

  it("turns a question into quoted terms, so FTS5 syntax in it cannot break the query", () => {
    expect(ftsQuery('port OR "x" NEAR(a b) -- *')).toBe('"port" OR "or" OR "near"');
    expect(ftsQuery("?!")).toBeUndefined();
  });
});
