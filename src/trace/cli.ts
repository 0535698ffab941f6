// `herald trace`: prints the live trace of a running Herald (GET /debug/events on its metrics port), oldest first,
// and with --follow keeps polling for newer events.
import { UsageError } from '../config.js';
import type { TraceAttempt, TraceRecord } from './buffer.js';

const USAGE = 'usage: herald trace [--metrics-url URL] [--follow] [--alert NS/NAME] [--object TEXT] [--provider TEXT] [--json] [--interval MS]';

export interface TraceOptions {
  metricsUrl: string;
  follow: boolean;
  json: boolean;
  intervalMs: number;
  filter: Record<'alert' | 'object' | 'provider', string | undefined>;
}

export function parseTraceArgs(args: string[]): TraceOptions {
  const o: TraceOptions = { metricsUrl: 'http://127.0.0.1:8080', follow: false, json: false, intervalMs: 1000, filter: { alert: undefined, object: undefined, provider: undefined } };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const eq = a.indexOf('=');
    const name = eq < 0 ? a : a.slice(0, eq);
    const value = () => {
      const v = eq >= 0 ? a.slice(eq + 1) : args[++i];
      if (v === undefined) throw new UsageError(`${name} needs a value\n${USAGE}`);
      return v;
    };
    switch (name) {
      case '--follow': case '-f': o.follow = true; break;
      case '--json': o.json = true; break;
      case '--metrics-url': o.metricsUrl = value(); break;
      case '--alert': o.filter.alert = value(); break;
      case '--object': o.filter.object = value(); break;
      case '--provider': o.filter.provider = value(); break;
      case '--interval': {
        const n = Number(value());
        if (!Number.isInteger(n) || n < 100) throw new UsageError('--interval: milliseconds, at least 100');
        o.intervalMs = n;
        break;
      }
      default: throw new UsageError(`unknown argument ${JSON.stringify(a)}\n${USAGE}`);
    }
  }
  return o;
}

/** Plain-text lines for one record. */
export function formatRecord(r: TraceRecord): string[] {
  const lines = [`#${r.seq} ${r.at} ${r.object} ${r.severity} ${r.reason}: ${r.message}`, `  dedup: ${r.dedup}${r.note ? ` (${r.note})` : ''}`];
  for (const a of r.alerts) lines.push(`  alert ${a.alert}: ${a.matched ? `MATCH (${a.rule})` : `no match: ${a.rule}`}${a.outcome ? `; ${a.outcome}` : ''}`);
  if (r.alertsOmitted) lines.push(`  ... ${r.alertsOmitted} more Alert(s)`);
  for (const d of r.deliveries) {
    lines.push(`  delivery ${d.provider} (${d.type}) for ${d.alert}: ${d.state} after ${d.attempts.length + (d.attemptsOmitted ?? 0)} attempt(s)`);
    for (const t of d.attempts) lines.push(formatAttempt(t));
  }
  return lines;
}

function formatAttempt(t: TraceAttempt): string {
  return `    attempt ${t.attempt} ${t.at}: ${t.result}${t.error ? `: ${t.error}` : ''}${t.delayMs !== undefined ? ` (retry in ${t.delayMs} ms)` : ''}`;
}

async function fetchTrace(o: TraceOptions, since?: number): Promise<{ lastSeq: number; events: TraceRecord[] }> {
  const url = new URL('/debug/events', o.metricsUrl);
  for (const [k, v] of Object.entries(o.filter)) if (v) url.searchParams.set(k, v);
  if (since !== undefined) url.searchParams.set('since', String(since));
  const res = await fetch(url);
  if (res.status === 404) throw new Error(`${url.origin} has no trace (is --trace-events 0, or is this not the metrics port?)`);
  if (!res.ok) throw new Error(`${url} answered ${res.status}`);
  return (await res.json()) as { lastSeq: number; events: TraceRecord[] };
}

export async function traceCommand(args: string[], out: (line: string) => void = (l) => console.log(l), signal?: AbortSignal): Promise<number> {
  const o = parseTraceArgs(args);
  const print = (events: TraceRecord[]) => {
    // The server answers newest first; a terminal reads best oldest first.
    for (const r of [...events].reverse()) {
      if (o.json) out(JSON.stringify(r));
      else for (const l of formatRecord(r)) out(l);
    }
  };
  let since: number;
  // Printed records whose deliveries were not final yet: with --follow their later attempts are printed as updates.
  const pending = new Map<number, Map<string, number>>();
  const remember = (events: TraceRecord[]) => {
    for (const r of events) {
      const open = r.deliveries.filter((d) => d.state === 'queued' || d.state === 'retrying');
      if (open.length) pending.set(r.seq, new Map(r.deliveries.map((d) => [d.id, d.attempts.length + (d.attemptsOmitted ?? 0)])));
    }
  };
  try {
    const first = await fetchTrace(o);
    print(first.events);
    if (o.follow) remember(first.events);
    since = first.lastSeq;
  } catch (err) {
    console.error(`herald trace: ${describe(err, o.metricsUrl)}`);
    return 1;
  }
  while (o.follow && !signal?.aborted) {
    await new Promise((r) => setTimeout(r, o.intervalMs));
    if (signal?.aborted) break;
    try {
      const from = pending.size ? Math.min(since, Math.min(...pending.keys()) - 1) : since;
      const next = await fetchTrace(o, from);
      const seen = new Set(next.events.map((r) => r.seq));
      // Records that left the ring are no longer followed.
      for (const seq of pending.keys()) if (!seen.has(seq)) pending.delete(seq);
      for (const r of [...next.events].reverse()) {
        const known = pending.get(r.seq);
        if (!known) continue;
        for (const d of r.deliveries) {
          const shown = known.get(d.id) ?? 0;
          const total = d.attempts.length + (d.attemptsOmitted ?? 0);
          if (total <= shown) continue;
          const fresh = d.attempts.slice(Math.max(0, d.attempts.length - (total - shown)));
          if (o.json) out(JSON.stringify({ seq: r.seq, object: r.object, delivery: d.id, state: d.state, attempts: fresh }));
          else {
            out(`#${r.seq} ${r.object}: delivery ${d.provider} (${d.type}) for ${d.alert}: ${d.state}`);
            for (const t of fresh) out(formatAttempt(t));
          }
          known.set(d.id, total);
        }
        if (r.deliveries.every((d) => d.state !== 'queued' && d.state !== 'retrying')) pending.delete(r.seq);
      }
      const fresh = next.events.filter((r) => r.seq > since);
      print(fresh);
      remember(fresh);
      since = next.lastSeq;
    } catch (err) {
      console.error(`herald trace: ${describe(err, o.metricsUrl)} (still following)`);
    }
  }
  return 0;
}

function describe(err: unknown, url: string): string {
  const e = err as Error & { cause?: Error };
  return e.cause ? `cannot reach ${url}: ${e.cause.message}` : e.message;
}
