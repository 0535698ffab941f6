// Command-line flags (pflag syntax, Flux's names and defaults) and environment turned into one validated Config.
import { z } from 'zod';
import { parseDuration } from './api/provider.js';
import { DEFAULT_DELIVERY_CONCURRENCY } from './delivery/outbox.js';

export class UsageError extends Error {}

const durationFlag = (name: string) => z.string().transform((v, ctx) => {
  try {
    // Go durations also allow h and combined units (1h30m); parseDuration accepts ms, s, m, h.
    return parseDuration(v);
  } catch {
    ctx.addIssue({ code: 'custom', message: `--${name}: invalid duration ${JSON.stringify(v)} (examples: 30s, 5m, 1h)` });
    return z.NEVER;
  }
});

const addressFlag = (name: string) => z.string().transform((v, ctx) => {
  const m = /^(\[[^\]]+\]|[^:]*):(\d{1,5})$/.exec(v);
  if (!m || Number(m[2]) > 65535) {
    ctx.addIssue({ code: 'custom', message: `--${name}: expected [host]:port such as :9090 or 127.0.0.1:9090, got ${JSON.stringify(v)}` });
    return z.NEVER;
  }
  const host = m[1]!.replace(/^\[|\]$/g, '');
  return { host: host === '' ? '::' : host, port: Number(m[2]), text: v };
});

/** Flux's feature gates (resources.md §8); only ObjectLevelWorkloadIdentity changes what Herald does. */
export const FEATURE_GATES = ['CacheSecretsAndConfigMaps', 'DisableConfigWatchers', 'ObjectLevelWorkloadIdentity'] as const;
export type FeatureGate = (typeof FEATURE_GATES)[number];

const featureGatesFlag = z.string().transform((v, ctx) => {
  const gates = Object.fromEntries(FEATURE_GATES.map((g) => [g, false])) as Record<FeatureGate, boolean>;
  for (const part of v.split(',')) {
    if (part.trim() === '') continue;
    const m = /^\s*([^=\s]+)\s*=\s*(\S+)\s*$/.exec(part);
    const value = m ? /^(1|t|T|TRUE|true|True|0|f|F|FALSE|false|False)$/.exec(m[2]!)?.[0] : undefined;
    if (!m || value === undefined) {
      ctx.addIssue({ code: 'custom', message: `--feature-gates: expected name=true|false pairs separated by commas, got ${JSON.stringify(part)}` });
      return z.NEVER;
    }
    if (!(FEATURE_GATES as readonly string[]).includes(m[1]!)) {
      ctx.addIssue({ code: 'custom', message: `--feature-gates: unknown feature gate ${JSON.stringify(m[1])} (known: ${FEATURE_GATES.join(', ')})` });
      return z.NEVER;
    }
    gates[m[1] as FeatureGate] = /^(1|t|T|TRUE|true|True)$/.test(value);
  }
  return gates;
});

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1e3, kb: 1e3, ki: 1024, kib: 1024, m: 1e6, mb: 1e6, mi: 1024 ** 2, mib: 1024 ** 2, g: 1e9, gb: 1e9, gi: 1024 ** 3, gib: 1024 ** 3 };

/** A byte size such as 268435456, 256Mi, 256MiB or 1Gi (Kubernetes quantity suffixes, also with a trailing B). */
export function parseByteSize(v: string): number | undefined {
  const m = /^([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)$/.exec(v.trim());
  const unit = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) return undefined;
  const n = Math.floor(Number(m[1]) * unit);
  return n > 0 ? n : undefined;
}

const sizeFlag = (name: string) => z.union([z.string(), z.number()]).transform((v, ctx) => {
  const n = typeof v === 'number' ? v : parseByteSize(v);
  if (n === undefined || !(n > 0)) {
    ctx.addIssue({ code: 'custom', message: `--${name}: invalid size ${JSON.stringify(v)} (examples: 268435456, 256Mi, 1Gi)` });
    return z.NEVER;
  }
  return n;
});

const countFlag = (name: string) => z.coerce.number({ error: `--${name}: a positive whole number` }).int({ error: `--${name}: a positive whole number` }).positive({ error: `--${name}: a positive whole number` });

export const configSchema = z.object({
  configDir: z.string().optional(),
  kubeconfig: z.string().optional(),
  eventsAddr: addressFlag('events-addr').prefault(':9090'),
  metricsAddr: addressFlag('metrics-addr').prefault(':8080'),
  healthAddr: addressFlag('health-addr').prefault(':9440'),
  rateLimitInterval: durationFlag('rate-limit-interval').prefault('5m'),
  noCrossNamespaceRefs: z.boolean().default(false),
  watchAllNamespaces: z.boolean().default(true),
  exportHttpPathMetrics: z.boolean().default(false),
  logLevel: z.enum(['trace', 'debug', 'info', 'error'], { error: '--log-level: one of trace, debug, info, error' }).default('info'),
  logEncoding: z.enum(['json', 'console'], { error: '--log-encoding: json or console' }).default('json'),
  outbox: z.enum(['memory', 'jetstream'], { error: '--outbox: memory or jetstream' }).default('memory'),
  natsUrl: z.string().optional(),
  natsCreds: z.string().optional(),
  natsUser: z.string().optional(),
  natsPassword: z.string().optional(),
  natsToken: z.string().optional(),
  natsCa: z.string().optional(),
  natsCert: z.string().optional(),
  natsKey: z.string().optional(),
  maxDeliveryAge: durationFlag('max-delivery-age').prefault('1h'),
  retryInitialDelay: durationFlag('retry-initial-delay').prefault('2s'),
  retryMaxDelay: durationFlag('retry-max-delay').prefault('5m'),
  deliveryConcurrency: z.coerce.number().int().positive().default(DEFAULT_DELIVERY_CONCURRENCY),
  outboxMaxPending: countFlag('outbox-max-pending').default(100_000),
  outboxMaxBytes: sizeFlag('outbox-max-bytes').prefault('256Mi'),
  outboxProviderMaxPending: countFlag('outbox-provider-max-pending').default(10_000),
  outboxProviderMaxBytes: sizeFlag('outbox-provider-max-bytes').prefault('64Mi'),
  shutdownGracePeriod: durationFlag('shutdown-grace-period').prefault('8s'),
  runtimeNamespace: z.string().default('flux-system'),
  featureGates: featureGatesFlag.prefault(''),
  crossNamespaceAlertNamespaces: z.string().default('').transform((v) => v.split(',').map((x) => x.trim()).filter(Boolean)),
  traceEvents: z.coerce.number({ error: '--trace-events: a whole number' }).int({ error: '--trace-events: a whole number' }).min(0, { error: '--trace-events: 0 (off) or more' }).default(1000),
}).superRefine((c, ctx) => {
  if (c.outbox === 'jetstream' && !c.natsUrl) ctx.addIssue({ code: 'custom', message: '--outbox jetstream needs --nats-url' });
});

export type Config = z.infer<typeof configSchema>;

const BOOLEAN_FLAGS = new Set(['no-cross-namespace-refs', 'watch-all-namespaces', 'export-http-path-metrics']);
const VALUE_FLAGS = new Set([
  'config-dir', 'kubeconfig', 'events-addr', 'metrics-addr', 'health-addr', 'rate-limit-interval', 'log-level', 'log-encoding',
  'outbox', 'nats-url', 'nats-creds', 'nats-user', 'nats-password', 'nats-token', 'nats-ca', 'nats-cert', 'nats-key',
  'max-delivery-age', 'retry-initial-delay', 'retry-max-delay', 'delivery-concurrency', 'shutdown-grace-period',
  'feature-gates',
  'outbox-max-pending', 'outbox-max-bytes', 'outbox-provider-max-pending', 'outbox-provider-max-bytes',
  'cross-namespace-alert-namespaces', 'trace-events',
]);

export const FLAG_HELP = `Flags (pflag syntax: --name=value or --name value; booleans also bare):
  --config-dir DIR               read Alerts, Providers and Secrets from YAML files below DIR (watched); without it, from Kubernetes
  --kubeconfig FILE              kubeconfig for Kubernetes mode (default: in-cluster, then $KUBECONFIG)
  --watch-all-namespaces         Kubernetes mode: all namespaces (default true), else only $RUNTIME_NAMESPACE
  --events-addr ADDR             event server bind address (default :9090)
  --metrics-addr ADDR            Prometheus /metrics (default :8080)
  --health-addr ADDR             /healthz and /readyz (default :9440)
  --rate-limit-interval DUR      duplicate-event window (default 5m)
  --no-cross-namespace-refs      refuse events from namespaces other than the Alert's (default false)
  --export-http-path-metrics     use the request path as the metrics handler label (default false)
  --log-level LEVEL              trace, debug, info or error (default info)
  --log-encoding ENC             json or console (default json)
  --outbox KIND                  memory (default) or jetstream (durable, shared by replicas)
  --nats-url URL                 NATS servers for --outbox jetstream (comma-separated)
  --nats-creds FILE, --nats-user, --nats-password, --nats-token, --nats-ca FILE, --nats-cert FILE, --nats-key FILE
                                 NATS authentication and TLS for --outbox jetstream (or env HERALD_NATS_PASSWORD, HERALD_NATS_TOKEN)
  --max-delivery-age DUR         jetstream outbox: retry a delivery until it is this old, then dead-letter it (default 1h)
  --retry-initial-delay DUR      jetstream outbox: first retry delay, doubled each attempt (default 2s)
  --retry-max-delay DUR          jetstream outbox: longest retry delay (default 5m)
  --delivery-concurrency N       deliveries in flight at once per provider (default ${DEFAULT_DELIVERY_CONCURRENCY})
  --shutdown-grace-period DUR    time to finish in-flight deliveries on SIGTERM (default 8s)
  --outbox-max-pending N         memory outbox: deliveries held for all providers (default 100000)
  --outbox-max-bytes SIZE        memory outbox: their encoded size (default 256Mi)
  --outbox-provider-max-pending N
                                 memory outbox: deliveries held for one provider; above it its new ones are refused (default 10000)
  --outbox-provider-max-bytes SIZE
                                 memory outbox: their encoded size for one provider (default 64Mi)
  --feature-gates LIST           Flux's feature gates, e.g. ObjectLevelWorkloadIdentity=true (spec.serviceAccountName; cluster mode)
  --cross-namespace-alert-namespaces NS[,NS...]
                                 Alerts in these namespaces may use eventSources[].namespace "*" (all namespaces);
                                 default none, so "*" matches nothing, as in Flux; ignored with --no-cross-namespace-refs
  --trace-events N               events kept in the live trace at /debug/events on the metrics port (default 1000, 0 = off)`;

function camel(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** Parses pflag-style arguments into a raw record; positional arguments are returned apart. */
export function parseFlags(args: string[], allowed = new Set([...BOOLEAN_FLAGS, ...VALUE_FLAGS])): { flags: Record<string, string | boolean>; positional: string[] } {
  const flags: Record<string, string | boolean> = {};
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      positional.push(...args.slice(i + 1));
      break;
    }
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = a.slice(2, eq < 0 ? undefined : eq);
    if (!allowed.has(name)) throw new UsageError(`unknown flag --${name}`);
    if (BOOLEAN_FLAGS.has(name)) {
      const v = eq < 0 ? 'true' : a.slice(eq + 1);
      if (v !== 'true' && v !== 'false') throw new UsageError(`--${name} takes true or false, got ${JSON.stringify(v)}`);
      flags[name] = v === 'true';
    } else {
      let v: string | undefined;
      if (eq >= 0) v = a.slice(eq + 1);
      else v = args[++i];
      if (v === undefined) throw new UsageError(`--${name} needs a value`);
      flags[name] = v;
    }
  }
  return { flags, positional };
}

export function loadConfig(args: string[], env: NodeJS.ProcessEnv = process.env): Config {
  const { flags, positional } = parseFlags(args);
  if (positional.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positional[0])}`);
  const raw: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(flags)) raw[camel(k)] = v;
  if (raw.runtimeNamespace === undefined && env.RUNTIME_NAMESPACE) raw.runtimeNamespace = env.RUNTIME_NAMESPACE;
  if (raw.kubeconfig === undefined && env.KUBECONFIG) raw.kubeconfig = env.KUBECONFIG;
  if (raw.natsPassword === undefined && env.HERALD_NATS_PASSWORD) raw.natsPassword = env.HERALD_NATS_PASSWORD;
  if (raw.natsToken === undefined && env.HERALD_NATS_TOKEN) raw.natsToken = env.HERALD_NATS_TOKEN;
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) throw new UsageError(parsed.error.issues.map((i) => i.message).join('\n'));
  return parsed.data;
}
