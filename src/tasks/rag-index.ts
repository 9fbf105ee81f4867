/**
 * The full-text index of a document collection for quick RAG: one SQLite file per collection
 * with an FTS5 table of chunks. A refresh re-reads only files whose size or mtime changed, and
 * re-indexes only those whose content hash changed; each file is replaced in its own
 * transaction, so an interrupted refresh leaves a consistent index.
 */
import { Database } from "bun:sqlite";
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join } from "node:path";

const DOCUMENT_EXTENSIONS = new Set([".txt", ".md", ".markdown"]);
/** About a paragraph or three: small enough to be specific, large enough to carry context. */
const CHUNK_TARGET_CHARS = 800;
const CHUNK_MAX_CHARS = 1600;
/** Terms of a question used in the query; more only dilutes the ranking. */
const MAX_QUERY_TERMS = 32;

export interface RefreshStats {
  added: string[];
  updated: string[];
  removed: string[];
  unchanged: number;
  chunks: number;
}

export interface Chunk {
  path: string;
  start_line: number;
  end_line: number;
  text: string;
  /** bm25: lower is better. */
  score: number;
}

interface FileRow {
  path: string;
  mtime_ms: number;
  size: number;
  sha256: string;
}

/** Documents under `directory`, relative paths, sorted; dot-directories and links are skipped. */
function listDocuments(directory: string, signal: AbortSignal, prefix = ""): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(join(directory, prefix), { withFileTypes: true })) {
    if (signal.aborted) throw signal.reason;
    if (entry.name.startsWith(".")) continue;
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) found.push(...listDocuments(directory, signal, path));
    else if (entry.isFile() && DOCUMENT_EXTENSIONS.has(extname(entry.name).toLowerCase())) found.push(path);
  }
  return found.sort();
}

/** Splits text into chunks of whole lines, preferring to cut at blank lines. */
export function chunkText(text: string): Array<{ start_line: number; end_line: number; text: string }> {
  const lines = text.split(/\r?\n/);
  const chunks: Array<{ start_line: number; end_line: number; text: string }> = [];
  let start = 0;
  let size = 0;
  const cut = (end: number) => {
    const body = lines.slice(start, end).join("\n").trim();
    if (body) chunks.push({ start_line: start + 1, end_line: end, text: body });
    start = end;
    size = 0;
  };
  for (let index = 0; index < lines.length; index++) {
    size += lines[index]!.length + 1;
    const atParagraphEnd = lines[index]!.trim() === "";
    if ((size >= CHUNK_TARGET_CHARS && atParagraphEnd) || size >= CHUNK_MAX_CHARS) cut(index + 1);
  }
  cut(lines.length);
  return chunks;
}

/** A question as an FTS5 query: its words, each quoted (no FTS syntax gets through), any of them. */
export function ftsQuery(question: string): string | undefined {
  const terms = [...new Set(question.toLowerCase().match(/[\p{L}\p{N}_]+/gu) ?? [])].filter((term) => term.length >= 2).slice(0, MAX_QUERY_TERMS);
  return terms.length === 0 ? undefined : terms.map((term) => `"${term}"`).join(" OR ");
}

export class RagIndex {
  private readonly db: Database;

  constructor(indexPath: string) {
    mkdirSync(join(indexPath, ".."), { recursive: true });
    this.db = new Database(indexPath, { create: true });
    // WAL: a question can be answered while another job refreshes the same index.
    this.db.run("PRAGMA journal_mode = WAL");
    this.db.run("PRAGMA busy_timeout = 10000");
    this.db.run("CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, mtime_ms REAL NOT NULL, size INTEGER NOT NULL, sha256 TEXT NOT NULL)");
    this.db.run("CREATE VIRTUAL TABLE IF NOT EXISTS chunks USING fts5(text, path UNINDEXED, start_line UNINDEXED, end_line UNINDEXED, tokenize = 'porter unicode61')");
  }

  refresh(directory: string, signal: AbortSignal): RefreshStats {
    const stats: RefreshStats = { added: [], updated: [], removed: [], unchanged: 0, chunks: 0 };
    const known = new Map(this.db.query<FileRow, []>("SELECT path, mtime_ms, size, sha256 FROM files").all().map((row) => [row.path, row]));
    const seen = new Set<string>();
    const insertChunk = this.db.prepare("INSERT INTO chunks (text, path, start_line, end_line) VALUES (?, ?, ?, ?)");
    const replace = this.db.transaction((path: string, file: { mtime_ms: number; size: number; sha256: string }, text: string | undefined) => {
      if (text !== undefined) {
        this.db.run("DELETE FROM chunks WHERE path = ?", [path]);
        for (const chunk of chunkText(text)) insertChunk.run(chunk.text, path, chunk.start_line, chunk.end_line);
      }
      this.db.run("INSERT OR REPLACE INTO files (path, mtime_ms, size, sha256) VALUES (?, ?, ?, ?)", [path, file.mtime_ms, file.size, file.sha256]);
    });
    const remove = this.db.transaction((path: string) => {
      this.db.run("DELETE FROM chunks WHERE path = ?", [path]);
      this.db.run("DELETE FROM files WHERE path = ?", [path]);
    });
    for (const path of listDocuments(directory, signal)) {
      if (signal.aborted) throw signal.reason;
      seen.add(path);
      const file = statSync(join(directory, path));
      const row = known.get(path);
      if (row && row.mtime_ms === file.mtimeMs && row.size === file.size) {
        stats.unchanged++;
        continue;
      }
      const content = readFileSync(join(directory, path));
      const sha256 = createHash("sha256").update(content).digest("hex");
      const current = { mtime_ms: file.mtimeMs, size: file.size, sha256 };
      if (row && row.sha256 === sha256) {
        // Touched, not changed: remember the new mtime so the next refresh does not read it again.
        replace(path, current, undefined);
        stats.unchanged++;
        continue;
      }
      replace(path, current, content.toString("utf8"));
      (row ? stats.updated : stats.added).push(path);
    }
    for (const path of known.keys()) {
      if (seen.has(path)) continue;
      remove(path);
      stats.removed.push(path);
    }
    stats.chunks = this.db.query<{ n: number }, []>("SELECT count(*) AS n FROM chunks").get()!.n;
    return stats;
  }

  search(question: string, topK: number): Chunk[] {
    const query = ftsQuery(question);
    if (!query) return [];
    return this.db
      .query<Chunk, [string, number]>("SELECT path, start_line, end_line, text, bm25(chunks) AS score FROM chunks WHERE chunks MATCH ? ORDER BY score LIMIT ?")
      .all(query, topK);
  }

  close(): void {
    this.db.close();
  }
}
