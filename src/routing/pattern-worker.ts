// Bounded matching cost: a pattern whose worst-case cost on a message (RE2 program size × message length) could stall the
// event loop is matched in a worker thread with a time budget; past the budget the worker is replaced and the pattern
// counts as not matching, as an invalid pattern does.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { CompiledPattern } from '../resources/store.js';

/**
 * Instructions × characters matched on the event loop. re2js's slowest path (the NFA) costs about 5 ns per unit, so the
 * worst inline match takes about 10 ms; a typical pattern (20–50 instructions) is matched inline up to 10–25 KB.
 */
export const INLINE_COST = 2_000_000;
/** Time one off-thread match may take (from when the worker starts it). */
export const MATCH_BUDGET_MS = 1000;

/** Off-thread matches waiting at most; beyond, a match is not attempted (each waiting job holds its message). */
export const MAX_BACKLOG = 32;

/**
 * The outcome of one pattern on one message. `timedOut` means the budget was spent, or (`busy`) the backlog was full:
 * the pattern counts as not matching.
 */
export type PatternResult = { found: boolean; timedOut?: false } | { found: false; timedOut: true; busy?: boolean };

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { RE2JS } = require(workerData.re2js);
const cache = new Map();
parentPort.on('message', ({ id, pattern, message }) => {
  let found = false;
  try {
    let re = cache.get(pattern);
    if (!re) {
      re = RE2JS.compile(pattern);
      if (cache.size >= 256) cache.delete(cache.keys().next().value);
      cache.set(pattern, re);
    }
    found = re.matcher(message).find();
  } catch {
    found = false;
  }
  parentPort.postMessage({ id, found });
});
`;

interface Job {
  id: number;
  pattern: string;
  message: string;
  resolve: (r: PatternResult) => void;
}

/** One worker, one job at a time, in arrival order; a job over budget terminates the worker (a new one is started). */
export class PatternMatcher {
  private worker?: Worker;
  private readonly queue: Job[] = [];
  private current?: { job: Job; timer: NodeJS.Timeout };
  private seq = 0;
  private readonly re2jsPath = createRequire(import.meta.url).resolve('re2js');

  constructor(private readonly budgetMs = MATCH_BUDGET_MS) {}

  match(pattern: string, message: string): Promise<PatternResult> {
    if (this.backlog >= MAX_BACKLOG) return Promise.resolve({ found: false, timedOut: true, busy: true });
    return new Promise((resolve) => {
      this.queue.push({ id: ++this.seq, pattern, message, resolve });
      this.next();
    });
  }

  /** Jobs waiting or running. */
  get backlog(): number {
    return this.queue.length + (this.current ? 1 : 0);
  }

  private spawn(): Worker {
    const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { re2js: this.re2jsPath } });
    w.unref();
    w.on('message', (m: { id: number; found: boolean }) => {
      const cur = this.current;
      if (!cur || cur.job.id !== m.id) return;
      clearTimeout(cur.timer);
      this.current = undefined;
      cur.job.resolve({ found: m.found });
      this.next();
    });
    const lost = () => {
      if (this.worker !== w) return;
      this.worker = undefined;
      const cur = this.current;
      if (cur) {
        clearTimeout(cur.timer);
        this.current = undefined;
        cur.job.resolve({ found: false, timedOut: true });
      }
      this.next();
    };
    w.on('error', lost);
    w.on('exit', lost);
    return w;
  }

  private next(): void {
    if (this.current) return;
    const job = this.queue.shift();
    if (!job) return;
    const w = (this.worker ??= this.spawn());
    const timer = setTimeout(() => {
      // Over budget: the only way to stop a running match is to end its thread.
      this.worker = undefined;
      this.current = undefined;
      job.resolve({ found: false, timedOut: true });
      void w.terminate();
      this.next();
    }, this.budgetMs);
    this.current = { job, timer };
    w.postMessage({ id: job.id, pattern: job.pattern, message: job.message });
  }

  /** Ends the worker; waiting and running matches count as not matching. The matcher can be used again afterwards. */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    const cur = this.current;
    this.current = undefined;
    if (cur) {
      clearTimeout(cur.timer);
      cur.job.resolve({ found: false, timedOut: true });
    }
    for (const job of this.queue.splice(0)) job.resolve({ found: false, timedOut: true });
    if (w) await w.terminate();
  }
}

let shared: PatternMatcher | undefined;
/** The process-wide matcher (lazily started: most messages never need it). */
export function patternMatcher(): PatternMatcher {
  return (shared ??= new PatternMatcher());
}

/** Finds `p` in `message`: inline when cheap, else in the worker with the time budget. Invalid patterns never match. */
export async function findPattern(p: CompiledPattern, message: string, matcher: PatternMatcher = patternMatcher()): Promise<PatternResult> {
  if (p.regex === undefined) return { found: false };
  if ((p.instructions ?? 0) * message.length <= INLINE_COST) return { found: p.regex.matcher(message).find() };
  return matcher.match(p.pattern, message);
}
