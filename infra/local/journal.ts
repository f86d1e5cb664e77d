import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/**
 * An append-only JSON-lines file of "put" and "del" records keyed by id: the local
 * stand-ins' way to survive a restart, even a SIGKILL (each record is written before
 * the call that made it returns; the page cache outlives the process).
 */
export class Journal<T extends { id: string }> {
  private live = new Map<string, T>();
  private writes = 0;

  constructor(private readonly path: string, private readonly compactEvery = 20_000) {
    mkdirSync(dirname(path), { recursive: true });
    if (existsSync(path)) {
      for (const line of readFileSync(path, "utf8").split("\n")) {
        if (!line) continue;
        try {
          const rec = JSON.parse(line) as { op: "put"; value: T } | { op: "del"; id: string };
          if (rec.op === "put") this.live.set(rec.value.id, rec.value);
          else this.live.delete(rec.id);
        } catch {
          // A torn last line from a kill mid-write: everything before it stands.
        }
      }
    }
    this.compact();
  }

  entries(): T[] {
    return [...this.live.values()];
  }

  has(id: string): boolean {
    return this.live.has(id);
  }

  put(values: readonly T[]): void {
    if (values.length === 0) return;
    appendFileSync(this.path, values.map((value) => JSON.stringify({ op: "put", value })).join("\n") + "\n");
    for (const v of values) this.live.set(v.id, v);
    this.tick(values.length);
  }

  delete(ids: readonly string[]): void {
    const known = ids.filter((id) => this.live.has(id));
    if (known.length === 0) return;
    appendFileSync(this.path, known.map((id) => JSON.stringify({ op: "del", id })).join("\n") + "\n");
    for (const id of known) this.live.delete(id);
    this.tick(known.length);
  }

  private tick(n: number) {
    this.writes += n;
    if (this.writes >= this.compactEvery) this.compact();
  }

  /** Rewrites the file with only the live records (write to a temp file, then rename: never a half file). */
  private compact() {
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, [...this.live.values()].map((value) => JSON.stringify({ op: "put", value }) + "\n").join(""));
    renameSync(tmp, this.path);
    this.writes = 0;
  }
}
