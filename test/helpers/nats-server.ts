// Test helper: starts a real nats-server (Debian 2.9) on free loopback ports, with monitoring and optional JetStream.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const NATS_SERVER_BIN = process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server';

export interface NatsServerOptions {
  /** Enable JetStream with a fresh store directory (kept across restart(), removed by stop()). */
  jetstream?: boolean;
  /** Extra nats-server.conf text (authorization, accounts, tls, max_payload ...). */
  config?: string;
  /** Extra command-line arguments. */
  args?: string[];
  /** Milliseconds to wait for readiness (default 10 s). */
  readyTimeoutMs?: number;
}

export interface NatsServer {
  /** Client URL, `nats://127.0.0.1:<port>`. */
  url: string;
  port: number;
  /** Monitoring base URL, `http://127.0.0.1:<port>` (`/varz`, `/connz`, `/healthz`). */
  monitorUrl: string;
  storeDir?: string;
  /** Log lines the server printed so far (stdout and stderr). */
  logs: string[];
  /** Graceful stop (SIGTERM, then SIGKILL after 5 s); removes the temporary directory. Idempotent. */
  stop(): Promise<void>;
  /** Stops the server and starts it again on the same ports and store dir; with `config`, that text replaces the extra config. */
  restart(opts?: { config?: string }): Promise<void>;
  /** Stops the server without removing anything, so it can be started later with start(). */
  halt(): Promise<void>;
  /** Starts a halted server again on the same ports. */
  start(): Promise<void>;
  /** SIGSTOP, resolved once every server thread is stopped: sockets stay open, nothing is answered (a stalled server). */
  pause(): Promise<void>;
  /** SIGCONT after pause(). */
  resume(): void;
  /** Number of client connections, from the monitoring endpoint. */
  connectionCount(): Promise<number>;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A crashed test run must not leave servers holding ports.
  process.on('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function allThreadsStopped(pid: number): boolean {
  try {
    return readdirSync(`/proc/${pid}/task`).every((tid) => {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      // The state field follows the parenthesised command name.
      return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'T';
    });
  } catch {
    return false;
  }
}

export async function startNatsServer(opts: NatsServerOptions = {}): Promise<NatsServer> {
  installExitHook();
  const dir = mkdtempSync(join(tmpdir(), 'herald-nats-'));
  const port = await freePort();
  const monitorPort = await freePort();
  const storeDir = opts.jetstream ? join(dir, 'jetstream') : undefined;
  const confPath = join(dir, 'nats-server.conf');
  writeFileSync(confPath, opts.config ?? '');
  const args = ['-a', '127.0.0.1', '-p', String(port), '-m', String(monitorPort), '-c', confPath];
  if (storeDir) args.push('-js', '-sd', storeDir);
  args.push(...(opts.args ?? []));
  const monitorUrl = `http://127.0.0.1:${monitorPort}`;
  const logs: string[] = [];
  let child: ChildProcess | undefined;
  let removed = false;

  const launch = async (): Promise<void> => {
    const proc = spawn(NATS_SERVER_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    running.add(proc);
    let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    proc.once('exit', (code, signal) => {
      exited = { code, signal };
      running.delete(proc);
    });
    const collect = (chunk: Buffer): void => {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(line);
    };
    proc.stdout?.on('data', collect);
    proc.stderr?.on('data', collect);
    const deadline = Date.now() + (opts.readyTimeoutMs ?? 10_000);
    for (;;) {
      if (exited) {
        throw new Error(`nats-server exited during start (code ${exited.code}, signal ${exited.signal}):\n${logs.slice(-20).join('\n')}`);
      }
      try {
        const res = await fetch(`${monitorUrl}/healthz`, { signal: AbortSignal.timeout(1000) });
        await res.arrayBuffer();
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        throw new Error(`nats-server not ready after ${opts.readyTimeoutMs ?? 10_000} ms:\n${logs.slice(-20).join('\n')}`);
      }
      await sleep(25);
    }
  };

  const halt = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGCONT');
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(timer);
  };

  await launch().catch((err: unknown) => {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  });

  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    monitorUrl,
    ...(storeDir ? { storeDir } : {}),
    logs,
    halt,
    async start() {
      if (child) return;
      if (removed) throw new Error('nats-server was stopped and its directory removed');
      await launch();
    },
    async stop() {
      await halt();
      if (!removed) {
        removed = true;
        rmSync(dir, { recursive: true, force: true });
      }
    },
    async restart(restartOpts?: { config?: string }) {
      await halt();
      if (restartOpts?.config !== undefined) writeFileSync(confPath, restartOpts.config);
      await launch();
    },
    async pause() {
      const pid = child?.pid;
      if (pid === undefined) return;
      child!.kill('SIGSTOP');
      // The signal is asynchronous: a thread still running could answer one more PING.
      const deadline = Date.now() + 2000;
      while (!allThreadsStopped(pid)) {
        if (Date.now() > deadline) throw new Error(`nats-server ${pid} did not stop`);
        await sleep(2);
      }
    },
    resume() {
      child?.kill('SIGCONT');
    },
    async connectionCount() {
      const res = await fetch(`${monitorUrl}/connz`);
      const body = (await res.json()) as { num_connections?: number };
      return body.num_connections ?? 0;
    },
  };
}
