#!/usr/bin/env node
// The herald command: serve, send (post a test event), check (validate manifests), explain (why an event matches or not).
import { readFile } from 'node:fs/promises';
import { FLAG_HELP, loadConfig, parseFlags, UsageError } from './config.js';
import { createLogger } from './logger.js';
import { startHerald } from './app.js';
import { checkDirectory, explainDirectory } from './tools.js';
import { AllNamespacePolicy, parseNamespaceList } from './routing/all-namespaces.js';

const USAGE = `herald: a drop-in, loss-free event gateway for Flux

Usage:
  herald serve [flags]                      receive Flux events and deliver notifications
  herald send [--events-url URL] FILE.json  post an event (default URL http://127.0.0.1:9090/) and print the answer
  herald check [flags] DIR                  validate the manifests below DIR; exit 1 with one line per problem
  herald explain [flags] DIR FILE.json      for each Alert in DIR, whether the event matches and, if not, why;
                                            --render prints each request that would be sent (secrets masked);
                                            check and explain take --cross-namespace-alert-namespaces and
                                            --no-cross-namespace-refs as serve does
  herald trace [--metrics-url URL] [--follow] [--alert NS/NAME] [--object TEXT] [--provider TEXT] [--json]
                                            the live trace of the last events (default URL http://127.0.0.1:8080)
  herald outbox status|replay-dead [flags]  inspect the JetStream outbox (see docs/durable-delivery.md)
  herald help                               this text

${FLAG_HELP}
`;

/** Beyond the grace period, the clean-up after the drain may take this long before the process exits regardless. */
const WATCHDOG_EXTRA_MS = 1500;

async function serve(args: string[]): Promise<number> {
  const config = loadConfig(args);
  const log = createLogger({ level: config.logLevel, encoding: config.logEncoding });
  const herald = await startHerald(config, log);
  let signals = 0;
  const exit = (code: number) => {
    // pino writes asynchronously: flush, then exit even if flushing does not call back.
    const t = setTimeout(() => process.exit(code), 500);
    try {
      log.flush((() => { clearTimeout(t); process.exit(code); }) as () => void);
    } catch {
      // leave it to the timer
    }
  };
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      const dropped = herald.unsent();
      log.error({ signal: sig, dropped }, `second signal, exiting now: ${dropped} accepted deliveries dropped`);
      exit(dropped > 0 ? 1 : 0);
      return;
    }
    log.info({ signal: sig }, 'signal received');
    // stop() bounds every step; this is the last resort if something still hangs.
    const watchdog = setTimeout(() => {
      const dropped = herald.unsent();
      log.error({ dropped, boundMs: config.shutdownGracePeriod + WATCHDOG_EXTRA_MS }, `shutdown did not finish in time, exiting: ${dropped} accepted deliveries dropped`);
      exit(1);
    }, config.shutdownGracePeriod + WATCHDOG_EXTRA_MS);
    herald.stop().then(
      () => { clearTimeout(watchdog); exit(0); },
      (err: Error) => { log.error({ err: err.message }, 'shutdown failed'); exit(1); },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // Never resolves: the process ends through exit().
  return new Promise<number>(() => undefined);
}

async function send(args: string[]): Promise<number> {
  const { flags, positional } = parseFlags(args, new Set(['events-url']));
  if (positional.length !== 1) throw new UsageError('usage: herald send [--events-url URL] FILE.json');
  const url = typeof flags['events-url'] === 'string' ? flags['events-url'] : 'http://127.0.0.1:9090/';
  const body = await readFile(positional[0]!);
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  } catch (err) {
    console.error(`herald send: cannot reach ${url}: ${(err as Error).cause ? String(((err as Error).cause as Error).message) : (err as Error).message}`);
    return 1;
  }
  const text = await res.text();
  console.log(`${res.status} ${res.statusText}${text ? `\n${text}` : ''}`);
  return res.status === 202 ? 0 : 1;
}

/** The flags of check and explain that change what matches, as `serve` would apply them. */
function toolFlags(args: string[]): { policy: AllNamespacePolicy; positional: string[] } {
  const { flags, positional } = parseFlags(args, new Set(['cross-namespace-alert-namespaces', 'no-cross-namespace-refs']));
  const list = flags['cross-namespace-alert-namespaces'];
  return { policy: new AllNamespacePolicy(parseNamespaceList(typeof list === 'string' ? list : undefined), flags['no-cross-namespace-refs'] === true), positional };
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serve(rest);
    case 'send':
      return send(rest);
    case 'check': {
      const { policy, positional } = toolFlags(rest);
      if (positional.length !== 1) throw new UsageError('usage: herald check [--cross-namespace-alert-namespaces NS,...] [--no-cross-namespace-refs] DIR');
      return checkDirectory(positional[0]!, undefined, policy);
    }
    case 'explain': {
      const render = rest.includes('--render');
      const { policy, positional } = toolFlags(rest.filter((a) => a !== '--render'));
      if (positional.length !== 2) throw new UsageError('usage: herald explain [--render] [--cross-namespace-alert-namespaces NS,...] [--no-cross-namespace-refs] DIR FILE.json');
      return explainDirectory(positional[0]!, positional[1]!, undefined, { render, policy });
    }
    case 'trace': {
      const { traceCommand } = await import('./trace/cli.js');
      return traceCommand(rest);
    }
    case 'outbox': {
      const { outboxCommand } = await import('./jetstream/admin.js');
      return outboxCommand(rest);
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}; try herald help`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const usage = err instanceof UsageError;
    console.error(`herald: ${usage ? (err as Error).message : ((err as Error).stack ?? String(err))}`);
    // A failed start may leave listeners open (probes start first): exit instead of hanging.
    process.exit(usage ? 2 : 1);
  },
);
