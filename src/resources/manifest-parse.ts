// Parsing manifest files without blocking the event server: small files inline, large ones in a worker thread; and a
// per-file size limit.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { parseManifestFile, type ParsedManifestFile } from './manifests.js';
import type { StoredObject } from './store.js';

/** Larger manifest files are refused whole (Kubernetes objects are at most 1.5 MiB; 10,000 Alerts take about 3 MiB). */
export const MAX_MANIFEST_FILE_BYTES = 16 * 1024 * 1024;
/** Files at least this large are parsed in the worker thread (parsing costs about 10 ms per 100 KB on the event loop). */
export const WORKER_PARSE_BYTES = 256 * 1024;

/**
 * A string that changes when the object changes, cheap for Secrets: their Buffers as base64 (JSON.stringify would
 * write a 16 MB value as an array of 16 million numbers).
 */
export function entryFingerprint(o: StoredObject): string {
  if (o.kind === 'Secret') {
    const data: Record<string, string> = {};
    const raw = (o as { data: Record<string, Uint8Array> }).data;
    for (const k of Object.keys(raw)) data[k] = Buffer.from(raw[k]!.buffer, raw[k]!.byteOffset, raw[k]!.byteLength).toString('base64');
    return JSON.stringify({ ...o, data });
  }
  return JSON.stringify(o);
}

export interface ParsedWithFingerprints extends ParsedManifestFile {
  /** entryFingerprint of each entry, in order. */
  fingerprints: string[];
}

const workerUrl = new URL('./manifest-worker.js', import.meta.url);
/**
 * How long the worker is kept after its last parse. Parsing a large file grows the worker's own V8 heap, and an idle
 * isolate does not give that back (the core bench's 10,000-Alert file left 14 MB of RSS); big files change rarely, so
 * the worker is stopped once idle and started again (tens of ms) for the next one.
 */
export const WORKER_IDLE_MS = 2000;

class ManifestParser {
  private worker?: Worker;
  private idleTimer?: NodeJS.Timeout;
  private seq = 0;
  private readonly waiting = new Map<number, { resolve: (r: ParsedWithFingerprints) => void; reject: (e: Error) => void }>();

  /** Whether the compiled worker module exists (it does in dist/; tests running the TypeScript sources parse inline). */
  readonly available = workerUrl.protocol === 'file:' && existsSync(fileURLToPath(workerUrl));

  parse(text: string, file: string): Promise<ParsedWithFingerprints> {
    clearTimeout(this.idleTimer);
    const w = (this.worker ??= this.spawn());
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      w.postMessage({ id, text, file });
    });
  }

  private spawn(): Worker {
    const w = new Worker(workerUrl);
    w.unref();
    w.on('message', (m: { id: number; parsed?: ParsedManifestFile; fingerprints?: string[]; error?: string }) => {
      const p = this.waiting.get(m.id);
      if (!p) return;
      this.waiting.delete(m.id);
      if (m.error !== undefined || !m.parsed) return p.reject(new Error(m.error ?? 'manifest worker failed'));
      for (const e of m.parsed.entries) {
        if (e.object.kind !== 'Secret') continue;
        const data = (e.object as { data: Record<string, Uint8Array> }).data;
        for (const k of Object.keys(data)) data[k] = Buffer.from(data[k]!.buffer, data[k]!.byteOffset, data[k]!.byteLength);
      }
      p.resolve({ ...m.parsed, fingerprints: m.fingerprints! });
    });
    w.on('message', () => {
      if (this.waiting.size > 0 || this.worker !== w) return;
      clearTimeout(this.idleTimer);
      this.idleTimer = setTimeout(() => this.retire(w), WORKER_IDLE_MS);
      this.idleTimer.unref();
    });
    const fail = (err: Error) => {
      if (this.worker === w) this.worker = undefined;
      for (const p of this.waiting.values()) p.reject(err);
      this.waiting.clear();
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`manifest worker exited with code ${code}`)));
    return w;
  }

  /** Stops an idle worker; the next large file starts a new one. */
  private retire(w: Worker): void {
    if (this.worker !== w || this.waiting.size > 0) return;
    this.worker = undefined;
    void w.terminate();
  }
}

let shared: ManifestParser | undefined;

/** Parses one file: inline when small (or without the compiled worker), else in the worker thread. */
export async function parseManifest(text: string, file: string): Promise<ParsedWithFingerprints> {
  const parser = (shared ??= new ManifestParser());
  if (text.length >= WORKER_PARSE_BYTES && parser.available) {
    try {
      return await parser.parse(text, file);
    } catch {
      // A worker that cannot start: parse here rather than not at all.
    }
  }
  const parsed = parseManifestFile(text, file);
  return { ...parsed, fingerprints: parsed.entries.map((e) => entryFingerprint(e.object)) };
}
