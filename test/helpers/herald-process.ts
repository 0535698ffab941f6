// Runs the real `herald serve` (dist/cli.js, built by `npm run build` / pretest) as a child process for end-to-end tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const cliPath = path.join(repoRoot, 'dist/cli.js');

export interface HeraldProcess {
  eventsUrl: string;
  metricsUrl: string;
  healthUrl: string;
  /** Every log line so far, raw (JSON lines with --log-encoding json). */
  logs: string[];
  /** Parsed JSON log records. */
  records(): Array<Record<string, unknown>>;
  child: ChildProcess;
  /** SIGTERM and wait for the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL, no grace. */
  kill(): Promise<void>;
  /** Resolves when a log line containing `text` appears. */
  waitForLog(text: string | RegExp, timeoutMs?: number): Promise<string>;
}

export interface StartHeraldOptions {
  configDir?: string;
  args?: string[];
  env?: Record<string, string>;
  /** Wait for /readyz before resolving (default true). */
  waitReady?: boolean;
  timeoutMs?: number;
}

export async function startHerald(opts: StartHeraldOptions): Promise<HeraldProcess> {
  if (!existsSync(cliPath)) throw new Error(`${cliPath} is missing: run npm run build first (npm test does)`);
  const args = [
    cliPath, 'serve',
    ...(opts.configDir ? ['--config-dir', opts.configDir] : []),
    '--events-addr', '127.0.0.1:0', '--metrics-addr', '127.0.0.1:0', '--health-addr', '127.0.0.1:0',
    '--log-encoding', 'json', '--log-level', 'debug',
    ...(opts.args ?? []),
  ];
  const child = spawn(process.execPath, args, { env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: string[] = [];
  const waiters: Array<{ test: (l: string) => boolean; resolve: (l: string) => void }> = [];
  const onLine = (line: string) => {
    if (!line) return;
    logs.push(line);
    for (const w of [...waiters]) if (w.test(line)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(line);
    }
  };
  for (const stream of [child.stdout!, child.stderr!]) {
    let buf = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buf += chunk;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        onLine(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    });
  }
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const waitForLog = (text: string | RegExp, timeoutMs = opts.timeoutMs ?? 15_000) => {
    const test = (l: string) => (typeof text === 'string' ? l.includes(text) : text.test(l));
    const found = logs.find(test);
    if (found) return Promise.resolve(found);
    return new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`herald did not log ${String(text)} within ${timeoutMs} ms; logs:\n${logs.slice(-30).join('\n')}`)), timeoutMs);
      waiters.push({ test, resolve: (l) => { clearTimeout(t); resolve(l); } });
      exited.then((code) => { clearTimeout(t); reject(new Error(`herald exited with ${code} before logging ${String(text)}; logs:\n${logs.slice(-30).join('\n')}`)); });
    });
  };

  const listening = async (server: string) => {
    const line = await waitForLog(new RegExp(`"server":"${server.replace('+', '\\+')}".*"msg":"listening"`));
    return String(JSON.parse(line).address);
  };
  const eventsUrl = await listening('events');
  const healthLine = logs.find((l) => /"server":"health(\+metrics)?".*listening/.test(l));
  const metricsLine = logs.find((l) => /"server":"(health\+)?metrics".*listening/.test(l));
  const healthUrl = healthLine ? String(JSON.parse(healthLine).address) : '';
  const metricsUrl = metricsLine ? String(JSON.parse(metricsLine).address) : '';

  if (opts.waitReady !== false) {
    const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
    for (;;) {
      const ok = await fetch(`${healthUrl}/readyz`).then((r) => r.ok, () => false);
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`herald not ready; logs:\n${logs.slice(-30).join('\n')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  return {
    eventsUrl, metricsUrl, healthUrl, logs, child, waitForLog,
    records: () => logs.flatMap((l) => { try { return [JSON.parse(l) as Record<string, unknown>]; } catch { return []; } }),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** POSTs a JSON body (string or object) to the event server. */
export async function postEvent(eventsUrl: string, body: unknown, init: RequestInit = {}): Promise<Response> {
  return fetch(eventsUrl + '/', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' || Buffer.isBuffer(body) ? (body as string) : JSON.stringify(body),
    ...init,
  });
}
