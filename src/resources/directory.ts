// Directory mode's resource source: every *.yaml/*.yml below the config dir, loaded into the store and kept in step with the files.
import { watch, type FSWatcher, type Stats } from 'node:fs';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../logger.js';
import type { ResourceStore, StoredObject } from './store.js';
import { formatProblem, type ManifestEntry, type ManifestProblem } from './manifests.js';
import { entryFingerprint, MAX_MANIFEST_FILE_BYTES, parseManifest } from './manifest-parse.js';

export interface DirectorySourceOptions {
  dir: string;
  log: Logger;
  /** Quiet time after the last file-system event before the directory is rescanned. */
  debounceMs?: number;
  /** Period of the stat-only rescan that catches what fs.watch misses (atomic renames, bind mounts, ConfigMap volumes). */
  pollIntervalMs?: number;
  /** Set false where inotify does not work (NFS and other network file systems): the rescan alone follows changes. */
  watch?: boolean;
}

export interface DirectorySource {
  close(): Promise<void>;
  /** Re-reads every file now (SIGHUP); resolves once the store reflects the directory. */
  reload(): Promise<void>;
  /** The problems of the files as they are now, in file and document order. */
  problems(): ManifestProblem[];
}

const DEFAULT_DEBOUNCE_MS = 150;
const DEFAULT_POLL_INTERVAL_MS = 1000;
/** A burst of events never delays a rescan longer than this, so changes show within 2 s even under constant writes. */
const MAX_EVENT_DELAY_MS = 1000;
const MANIFEST_FILE = /\.ya?ml$/i;
/** kustomize's build instructions are not Kubernetes objects; a config dir that is also a kustomize base stays quiet. */
const KUSTOMIZATION_FILE = /^kustomization\.ya?ml$/i;
const INITIAL_READ_ATTEMPTS = 3;

/** Loads the directory into the store, marks the store ready, then follows changes until closed. */
export async function startDirectorySource(store: ResourceStore, opts: DirectorySourceOptions): Promise<DirectorySource> {
  const source = new DirectoryWatcher(store, opts);
  await source.start();
  return {
    close: () => source.close(),
    reload: () => source.requestScan(true),
    problems: () => source.problems(),
  };
}

export interface ManifestFileInfo {
  abs: string;
  signature: string;
  mtimeMs: number;
  size: number;
}

interface FileState {
  /** Identity (dev, inode, size, times) of the file content last accepted, read through symlinks. */
  signature: string;
  /** Objects this file currently contributes, in document order. */
  entries: ManifestEntry[];
  problems: ManifestProblem[];
}

interface AppliedObject {
  object: StoredObject;
  json: string;
  file: string;
}

type ReadResult = { kind: 'read'; state: FileState } | { kind: 'unstable' } | { kind: 'failed'; state: FileState };

class DirectoryWatcher {
  private readonly log: Logger;
  private readonly dir: string;
  private readonly debounceMs: number;
  private readonly pollIntervalMs: number;
  private readonly watchEnabled: boolean;
  private readonly files = new Map<string, FileState>();
  /** What is in the store because of this source, by object identity. */
  private readonly applied = new Map<string, AppliedObject>();
  private duplicates: ManifestProblem[] = [];
  private watcher: FSWatcher | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private debounceTimer: NodeJS.Timeout | undefined;
  private burstStartedAt: number | undefined;
  private queue: Promise<void> = Promise.resolve();
  private queued: { promise: Promise<void>; force: boolean } | undefined;
  private closed = false;

  constructor(private readonly store: ResourceStore, opts: DirectorySourceOptions) {
    this.dir = opts.dir;
    this.log = opts.log;
    this.debounceMs = opts.debounceMs ?? DEFAULT_DEBOUNCE_MS;
    this.pollIntervalMs = opts.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    this.watchEnabled = opts.watch ?? true;
  }

  async start(): Promise<void> {
    let st: Stats;
    try {
      st = await stat(this.dir);
    } catch (err) {
      throw new Error(`config dir ${this.dir}: ${(err as Error).message}`);
    }
    if (!st.isDirectory()) throw new Error(`config dir ${this.dir}: not a directory`);
    await this.scan({ initial: true, force: false });
    this.store.markReady();
    if (this.watchEnabled) this.startWatching();
    this.pollTimer = setInterval(() => void this.requestScan(false), this.pollIntervalMs);
    this.pollTimer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.watcher?.close();
    this.watcher = undefined;
    clearInterval(this.pollTimer);
    clearTimeout(this.debounceTimer);
    await this.queue;
  }

  problems(): ManifestProblem[] {
    const all = [...[...this.files.values()].flatMap((f) => f.problems), ...this.duplicates];
    return all.sort((a, b) => compareStrings(a.file, b.file) || a.document - b.document);
  }

  /** Queues one scan; requests made while a scan waits to start share it, so bursts cost one scan. */
  requestScan(force: boolean): Promise<void> {
    if (this.closed) return this.queue;
    if (this.queued && (this.queued.force || !force)) return this.queued.promise;
    const entry = { force, promise: Promise.resolve() };
    entry.promise = this.queue.then(async () => {
      if (this.queued === entry) this.queued = undefined;
      if (this.closed) return;
      try {
        await this.scan({ initial: false, force: entry.force });
      } catch (err) {
        this.log.error({ err }, `config dir ${this.dir}: rescan failed: ${(err as Error).message}`);
      }
    });
    this.queued = entry;
    this.queue = entry.promise;
    return entry.promise;
  }

  private startWatching(): void {
    try {
      // Recursive watching is native on Linux since Node 20; any event, including the `..data` symlink swap of a
      // ConfigMap volume, only triggers a rescan, which decides from file signatures what changed.
      this.watcher = watch(this.dir, { recursive: true, persistent: false }, () => this.scheduleScan(this.debounceMs));
      this.watcher.on('error', (err) => {
        this.log.warn({ err }, `config dir ${this.dir}: watching stopped (${err.message}); changes are picked up by the rescan every ${this.pollIntervalMs}ms`);
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch (err) {
      this.log.warn({ err }, `config dir ${this.dir}: cannot watch (${(err as Error).message}); changes are picked up by the rescan every ${this.pollIntervalMs}ms`);
    }
  }

  private scheduleScan(delayMs: number): void {
    if (this.closed) return;
    const now = Date.now();
    this.burstStartedAt ??= now;
    clearTimeout(this.debounceTimer);
    const wait = Math.max(0, Math.min(delayMs, this.burstStartedAt + Math.max(MAX_EVENT_DELAY_MS, delayMs) - now));
    this.debounceTimer = setTimeout(() => {
      this.debounceTimer = undefined;
      this.burstStartedAt = undefined;
      void this.requestScan(false);
    }, wait);
    this.debounceTimer.unref();
  }

  private async scan({ initial, force }: { initial: boolean; force: boolean }): Promise<void> {
    let listing: Map<string, ManifestFileInfo>;
    try {
      listing = await listManifestFiles(this.dir);
    } catch (err) {
      if (initial) throw new Error(`config dir ${this.dir}: ${(err as Error).message}`);
      // An unmounted or briefly missing volume must not wipe every Alert: keep what is loaded.
      this.log.error({ err }, `config dir ${this.dir}: cannot read (${(err as Error).message}); keeping the objects loaded so far`);
      return;
    }
    const changed: string[] = [];
    const removed = [...this.files.keys()].filter((rel) => !listing.has(rel));
    let deferred = false;
    for (const [rel, info] of [...listing].sort(([a], [b]) => compareStrings(a, b))) {
      const prev = this.files.get(rel);
      if (!force && prev?.signature === info.signature) continue;
      // A file modified a moment ago may still be being written; read it once it has been quiet for the debounce
      // (an explicit reload reads it at once).
      const age = Date.now() - info.mtimeMs;
      if (!initial && !force && age >= 0 && age < this.debounceMs) {
        deferred = true;
        continue;
      }
      const result = await this.readManifest(rel, info, prev, initial);
      if (result.kind === 'unstable') {
        deferred = true;
        continue;
      }
      this.files.set(rel, result.state);
      if (result.kind === 'read') changed.push(rel);
    }
    for (const rel of removed) {
      this.log.info({ file: this.displayPath(rel) }, `${this.displayPath(rel)}: removed`);
      this.files.delete(rel);
    }
    if (initial || changed.length > 0 || removed.length > 0) this.reconcile(changed, removed, initial);
    if (deferred) this.scheduleScan(this.debounceMs);
  }

  private async readManifest(rel: string, info: ManifestFileInfo, prev: FileState | undefined, initial: boolean): Promise<ReadResult> {
    const file = this.displayPath(rel);
    if (info.size > MAX_MANIFEST_FILE_BYTES) {
      // Refused whole, never half-applied: the objects of its last accepted version (if any) stay in effect.
      const message = `file is ${info.size} bytes, larger than the limit of ${MAX_MANIFEST_FILE_BYTES} bytes (16 MiB); ignored${prev && prev.entries.length > 0 ? `, keeping the ${prev.entries.length} objects of its last accepted version` : ''}; split it into smaller files`;
      this.log.error({ file, size: info.size, limit: MAX_MANIFEST_FILE_BYTES }, `${file}: ${message}`);
      return { kind: 'failed', state: { signature: info.signature, entries: prev?.entries ?? [], problems: [{ file, document: 0, message }] } };
    }
    let text = '';
    let signature = info.signature;
    for (let attempt = 1; ; attempt++) {
      try {
        text = await readFile(info.abs, 'utf8');
        const after = signatureOf(await stat(info.abs));
        if (after === signature) break;
        // Written to while being read. The content is accepted only at start-up after a few attempts, and then under
        // the signature from before the read, so that the next rescan reads the file again.
        if (!initial) return { kind: 'unstable' };
        if (attempt >= INITIAL_READ_ATTEMPTS) break;
        signature = after;
      } catch (err) {
        // Gone between listing and reading: the next scan sees it removed.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'unstable' };
        this.log.error({ err, file }, `${file}: cannot read (${(err as Error).message}); ${prev ? 'keeping its objects from the last read' : 'skipped'}`);
        // Remember the signature so an unreadable file is reported once, not on every rescan.
        return { kind: 'failed', state: { signature: info.signature, entries: prev?.entries ?? [], problems: [{ file, document: 0, message: `cannot read: ${(err as Error).message}` }] } };
      }
      await sleep(this.debounceMs);
    }
    // Large files are parsed in a worker thread: the event server keeps answering meanwhile, and the result is
    // applied in one step by reconcile.
    const parsed = await parseManifest(text, file);
    parsed.entries.forEach((e, i) => { e.fingerprint = parsed.fingerprints[i]; });
    for (const p of parsed.problems) this.logProblem(p);

    let entries = parsed.entries;
    if (prev && prev.entries.length > 0 && parsed.syntaxError) {
      // Not well-formed YAML is what a file caught mid-write looks like: its last good version stays in effect.
      const { line, column } = parsed.syntaxError;
      this.log.warn({ file, line, column }, `${file}: not valid YAML at line ${line}, column ${column}; keeping the ${prev.entries.length} objects of its last good version until it parses`);
      entries = prev.entries;
    } else if (prev && parsed.problems.length > 0) {
      // Like the API server rejecting an invalid update: an object whose new definition is broken (or that vanished
      // from a file that now has problems, e.g. truncated) keeps its previous version until the file is fixed.
      const now = new Set(parsed.entries.map((e) => e.id));
      const kept = prev.entries.filter((e) => !now.has(e.id));
      if (kept.length > 0) {
        this.log.warn({ file, kept: kept.map((e) => describe(e.object)) }, `${file}: has problems; keeping the previous version of ${kept.length} object(s) it defined before (${kept.map((e) => describe(e.object)).join(', ')}) until it is fixed`);
        entries = [...parsed.entries, ...kept].sort((a, b) => a.document - b.document || (a.item ?? 0) - (b.item ?? 0));
      }
    }
    return { kind: 'read', state: { signature, entries, problems: parsed.problems } };
  }

  /** Recomputes what the directory defines and applies only the difference to the store. */
  private reconcile(changed: string[], removed: string[], initial: boolean): void {
    const desired = new Map<string, { entry: ManifestEntry; file: string }>();
    const duplicates: ManifestProblem[] = [];
    for (const rel of [...this.files.keys()].sort(compareStrings)) {
      for (const entry of this.files.get(rel)!.entries) {
        const first = desired.get(entry.id);
        if (!first) {
          desired.set(entry.id, { entry, file: rel });
          continue;
        }
        const o = entry.object;
        duplicates.push({
          file: this.displayPath(rel),
          document: entry.document,
          kind: o.kind,
          namespace: o.metadata.namespace,
          name: o.metadata.name,
          ...(entry.item !== undefined ? { field: `items.${entry.item}` } : {}),
          message: `${describe(o)} is already defined in ${this.displayPath(first.file)}#${first.entry.document}; this definition is ignored (the first one in file path order wins)`,
          ...(entry.line !== undefined ? { line: entry.line } : {}),
        });
      }
    }

    let deleted = 0;
    for (const [id, a] of this.applied) {
      if (desired.has(id)) continue;
      const o = a.object;
      this.store.delete(o.kind, o.metadata.namespace, o.metadata.name, o.apiVersion);
      this.applied.delete(id);
      deleted++;
    }
    let upserted = 0;
    for (const [id, { entry, file }] of desired) {
      const json = entry.fingerprint ?? entryFingerprint(entry.object);
      const prev = this.applied.get(id);
      if (prev?.json === json) {
        prev.file = file;
        continue;
      }
      this.store.upsert(entry.object);
      this.applied.set(id, { object: entry.object, json, file });
      upserted++;
    }

    const known = new Set(this.duplicates.map(formatProblem));
    for (const d of duplicates) if (!known.has(formatProblem(d))) this.logProblem(d);
    this.duplicates = duplicates;

    const counts = { alerts: 0, providers: 0, secrets: 0, objects: 0 };
    for (const { entry } of desired.values()) {
      const k = entry.object.kind;
      if (k === 'Alert') counts.alerts++;
      else if (k === 'Provider') counts.providers++;
      else if (k === 'Secret') counts.secrets++;
      else counts.objects++;
    }
    const problems = this.problems().length;
    this.log.info(
      { dir: this.dir, files: this.files.size, ...counts, problems, upserted, deleted, ...(initial ? {} : { changed: changed.map((r) => this.displayPath(r)), removed: removed.map((r) => this.displayPath(r)) }) },
      `config dir ${this.dir} ${initial ? 'loaded' : 'reloaded'}: ${this.files.size} files, ${counts.alerts} alerts, ${counts.providers} providers, ${counts.secrets} secrets, ${counts.objects} other objects, ${problems} problems`,
    );
  }

  private logProblem(p: ManifestProblem): void {
    // Never the object itself: a Secret's values must not reach the log.
    this.log.error(
      { file: p.file, document: p.document, kind: p.kind, namespace: p.namespace, name: p.name, field: p.field, line: p.line },
      formatProblem(p),
    );
  }

  private displayPath(rel: string): string {
    return join(this.dir, rel);
  }
}

/**
 * Every manifest below root by its visible path, read through symlinks. Dot entries are skipped: hidden files, and
 * the `..data` / `..2026_...` directories of a Kubernetes ConfigMap or Secret volume, whose files are reached through
 * the visible top-level links that kubelet keeps pointing at the current `..data`. Keys are `/`-separated paths
 * relative to root, which `herald check` can reuse to validate a directory the way `serve` loads it.
 */
export async function listManifestFiles(root: string): Promise<Map<string, ManifestFileInfo>> {
  const out = new Map<string, ManifestFileInfo>();
  const seenDirs = new Set<string>([await realpath(root)]);
  const walk = async (absDir: string, relDir: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(absDir, { withFileTypes: true });
    } catch (err) {
      if (absDir === root) throw err;
      return; // a subdirectory removed while walking
    }
    entries.sort((a, b) => compareStrings(a.name, b.name));
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const abs = join(absDir, e.name);
      const rel = relDir ? `${relDir}/${e.name}` : e.name;
      let st: Stats;
      try {
        st = await stat(abs);
      } catch {
        continue; // a dangling symlink, or removed while walking
      }
      if (st.isDirectory()) {
        // Symlinked directories are followed once, which also stops symlink loops.
        const real = await realpath(abs).catch(() => undefined);
        if (real === undefined || seenDirs.has(real)) continue;
        seenDirs.add(real);
        await walk(abs, rel);
      } else if (st.isFile() && MANIFEST_FILE.test(e.name) && !KUSTOMIZATION_FILE.test(e.name)) {
        out.set(rel, { abs, signature: signatureOf(st), mtimeMs: st.mtimeMs, size: st.size });
      }
    }
  };
  await walk(root, '');
  return out;
}

function signatureOf(st: Stats): string {
  // The inode changes when a symlink swap or an atomic rename replaces the file; times and size when it is rewritten.
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}

function describe(o: StoredObject): string {
  return `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
