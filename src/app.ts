// Wires one Herald process: resource source, store, dispatcher, outbox and workers, and the three HTTP servers.
import { AlertTemplates } from './routing/templates.js';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from './config.js';
import type { Logger } from './logger.js';
import { ResourceStore, type LabelLookup } from './resources/store.js';
import { LogEventRecorder, type AlertEventRecorder } from './resources/recorder.js';
import { startDirectorySource } from './resources/directory.js';
import { MemoryDedupStore, type DedupStore } from './server/dedup.js';
import { closeEventServer, createEventServer } from './server/event-server.js';
import { createAuxServer, listen, urlOf } from './server/health.js';
import { collectProcessMetrics } from './metrics.js';
import { Dispatcher } from './delivery/dispatcher.js';
import { MemoryOutbox } from './delivery/memory.js';
import type { Outbox } from './delivery/outbox.js';
import { MemoryGrouping, type GroupingStage } from './delivery/grouping.js';
import { ProviderCache } from './delivery/provider-cache.js';
import { DurableRetryPolicy, FluxRetryPolicy } from './delivery/retry.js';
import { createDeliveryHandler } from './delivery/worker.js';
import { ProviderRuntime, type ServiceAccountSource } from './providers/runtime.js';
import { AllNamespacePolicy } from './routing/all-namespaces.js';
import { TraceBuffer, traceDeliveries } from './trace/buffer.js';
import { traceRoutes } from './trace/http.js';

export interface RunningHerald {
  eventsUrl: string;
  metricsUrl: string;
  healthUrl: string;
  store: ResourceStore;
  /** Graceful stop: refuse new events, drain deliveries within the grace period, close connections. */
  stop(): Promise<void>;
  /** Accepted deliveries that exiting now would lose (memory outbox; JetStream keeps its deliveries in the stream). */
  unsent(): number;
}

/** Event requests still in progress on SIGTERM get this long (Flux: 5 s), never longer than the grace period. */
const REQUEST_DRAIN_MS = 5000;
/** The clean-up after the drain (provider clients, NATS, watchers) gets this long before it is abandoned. */
const STEP_BOUND_MS = 1000;

function bounded(p: Promise<unknown>, ms: number): Promise<'done' | 'timeout'> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((r) => { t = setTimeout(() => r('timeout'), ms); });
  return Promise.race([p.then(() => 'done' as const), timeout]).finally(() => clearTimeout(t));
}

export async function startHerald(config: Config, log: Logger): Promise<RunningHerald> {
  collectProcessMetrics();
  const store = new ResourceStore();
  store.setAllNamespacePolicy(new AllNamespacePolicy(config.crossNamespaceAlertNamespaces, config.noCrossNamespaceRefs));
  if (config.noCrossNamespaceRefs && config.crossNamespaceAlertNamespaces.length > 0) {
    log.info({ namespaces: config.crossNamespaceAlertNamespaces }, 'warning: --cross-namespace-alert-namespaces is ignored because --no-cross-namespace-refs is set');
  }
  const trace = config.traceEvents > 0 ? new TraceBuffer(config.traceEvents) : undefined;
  const closers: Array<() => Promise<void>> = [];

  let recorder: AlertEventRecorder = new LogEventRecorder(log.child({ logger: 'events' }));
  let labels: LabelLookup = store.storedLabels;
  // Object-level workload identity reads ServiceAccount tokens from the Kubernetes API: cluster mode only.
  let serviceAccounts: ServiceAccountSource | undefined;
  store.onInvalidPattern = (alert, list, pattern, error) => {
    const message = `failed to compile ${list} regex: ${pattern}`;
    log.error({ alert: { namespace: alert.metadata.namespace, name: alert.metadata.name }, error }, message);
    recorder.warning({ namespace: alert.metadata.namespace, name: alert.metadata.name, uid: alert.metadata.uid }, 'InvalidConfig', message);
  };

  // The probes answer from the start: /readyz says 503 until the resources are loaded (and, with the JetStream
  // outbox, while NATS cannot store deliveries, so a rollout waits for it and a cut-off replica leaves the Service).
  let accepting = true;
  let outboxReady: () => boolean = () => true;
  const servers: Server[] = [];
  const probes = { healthz: () => true, readyz: () => store.ready && accepting && outboxReady() };
  // --health-addr and --metrics-addr may name the same address: then one server carries both.
  const sameAddress = config.healthAddr.port !== 0 && config.healthAddr.host === config.metricsAddr.host && config.healthAddr.port === config.metricsAddr.port;
  const auxServers = sameAddress
    ? [{ ...config.healthAddr, routes: { ...probes, metrics: true } }]
    : [{ ...config.healthAddr, routes: probes }, { ...config.metricsAddr, routes: { metrics: true } }];
  if (trace) for (const s of auxServers) if ('metrics' in s.routes) Object.assign(s.routes, { extra: traceRoutes(trace) });
  const auxUrls: Record<'health' | 'metrics', string> = { health: '', metrics: '' };
  for (const { routes, host, port } of auxServers) {
    const server = createAuxServer(routes);
    const addr = await listen(server, host, port);
    servers.push(server);
    const hasProbes = 'readyz' in routes;
    const hasMetrics = 'metrics' in routes;
    if (hasProbes) auxUrls.health = urlOf(addr);
    if (hasMetrics) auxUrls.metrics = urlOf(addr);
    log.info({ server: hasProbes && hasMetrics ? 'health+metrics' : hasMetrics ? 'metrics' : 'health', address: urlOf(addr) }, 'listening');
  }

  if (config.configDir) {
    const source = await startDirectorySource(store, { dir: config.configDir, log: log.child({ logger: 'config-dir' }) });
    closers.push(() => source.close());
  } else {
    // Loaded only in cluster mode: the Kubernetes client is large and the embedded default does not need it.
    const { startKubernetesSource } = await import('./resources/kubernetes.js');
    const source = await startKubernetesSource(store, {
      kubeconfig: config.kubeconfig,
      watchAllNamespaces: config.watchAllNamespaces,
      namespace: config.runtimeNamespace,
      log: log.child({ logger: 'kubernetes' }),
    });
    labels = source.labels;
    recorder = source.recorder;
    serviceAccounts = source.serviceAccounts;
    closers.push(() => source.close());
  }

  let dedup: DedupStore;
  let outbox: Outbox;
  let createGrouping = async (o: Outbox, l: Logger): Promise<GroupingStage> => new MemoryGrouping(o, l);
  if (config.outbox === 'jetstream') {
    const { createJetStreamBackends } = await import('./delivery/jetstream.js');
    const backends = await createJetStreamBackends({
      natsUrl: config.natsUrl!,
      rateLimitIntervalMs: config.rateLimitInterval,
      maxDeliveryAgeMs: config.maxDeliveryAge,
      concurrency: config.deliveryConcurrency,
      log: log.child({ logger: 'outbox' }),
      config,
    });
    dedup = backends.dedup;
    outbox = backends.outbox;
    outboxReady = () => backends.link.ready;
    createGrouping = async (o, l) => {
      const { JetStreamGrouping } = await import('./delivery/grouping-jetstream.js');
      return new JetStreamGrouping({ link: backends.link, outbox: o, names: backends.outbox.names, log: l });
    };
    closers.push(() => backends.close());
  } else {
    dedup = new MemoryDedupStore(config.rateLimitInterval);
    outbox = new MemoryOutbox({
      perProviderConcurrency: config.deliveryConcurrency,
      limits: {
        maxPending: config.outboxMaxPending,
        maxBytes: config.outboxMaxBytes,
        providerMaxPending: config.outboxProviderMaxPending,
        providerMaxBytes: config.outboxProviderMaxBytes,
      },
      log: log.child({ logger: 'outbox' }),
    });
    closers.push(async () => dedup.close?.());
  }

  const objectLevelWorkloadIdentity = config.featureGates.ObjectLevelWorkloadIdentity;
  if (objectLevelWorkloadIdentity && !serviceAccounts) {
    log.info('feature gate ObjectLevelWorkloadIdentity is on, but ServiceAccount tokens need cluster mode: Providers with spec.serviceAccountName fail to load');
  }
  const runtime = new ProviderRuntime({ objectLevelWorkloadIdentity, ...(serviceAccounts ? { serviceAccounts } : {}) });
  const providers = new ProviderCache(store, log, runtime);
  const policy = config.outbox === 'jetstream'
    ? new DurableRetryPolicy(config.maxDeliveryAge, config.retryInitialDelay, config.retryMaxDelay)
    : new FluxRetryPolicy();
  const handler = createDeliveryHandler({ store, providers, recorder, policy, log: log.child({ logger: 'delivery' }) });
  outbox.start(trace ? traceDeliveries(handler, trace) : handler);

  const grouping = await createGrouping(outbox, log.child({ logger: 'grouping' }));
  const dispatcher = new Dispatcher({ store, labels, providers, outbox, recorder, log: log.child({ logger: 'event-server' }), noCrossNamespaceRefs: config.noCrossNamespaceRefs,
    objectLevelWorkloadIdentity, grouping, trace, templates: new AlertTemplates(config.configDir ? { configDir: config.configDir } : {}) });
  const events = createEventServer({ dedup, dispatcher, log: log.child({ logger: 'event-server' }), exportHttpPathMetrics: config.exportHttpPathMetrics, accepting: () => accepting, onDuplicate: trace && ((e) => trace.duplicate(e)) });
  await events.listen({ host: config.eventsAddr.host, port: config.eventsAddr.port });
  const eventsAddr = events.server.address() as AddressInfo;
  const eventsUrl = urlOf(eventsAddr);
  log.info({ server: 'events', address: eventsUrl, outbox: outbox.kind, resources: store.counts() }, 'listening');

  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= (async () => {
    accepting = false;
    const started = Date.now();
    const grace = config.shutdownGracePeriod;
    log.info({ gracePeriod: `${grace}ms`, pending: unsent() }, 'shutting down: refusing new events, finishing deliveries');
    // Both at once, so that the whole stop is bounded by the grace period: slow or silent event clients cannot delay
    // the deliveries' drain, and the drain cannot keep the event port open.
    const [{ cut }] = await Promise.all([
      closeEventServer(events, Math.min(REQUEST_DRAIN_MS, grace)),
      // Pending groups first: in memory they are flushed into the outbox, which then sends or reports them.
      grouping.close().then(() => outbox.close(grace)),
    ]);
    if (cut > 0) log.info({ connections: cut }, 'event server closed: connections still reading a request were cut');
    // Clean-up (provider clients, NATS, watchers, probe servers) together gets STEP_BOUND_MS, then is abandoned.
    const step = (name: string, fn: () => Promise<unknown>) => fn().catch((err: Error) => log.error({ err: err.message }, `shutdown step failed: ${name}`));
    const cleanup = (async () => {
      await step('providers', () => providers.closeAll());
      await step('provider runtime', () => runtime.close());
      for (const c of closers.reverse()) await step('resources and outbox', c);
    })();
    const probes = Promise.all(servers.map((s) => new Promise<void>((r) => {
      s.close(() => r());
      s.closeAllConnections();
    })));
    if (await bounded(Promise.all([cleanup, probes]), STEP_BOUND_MS) === 'timeout') {
      log.error({ boundMs: STEP_BOUND_MS }, 'shutdown clean-up did not finish in time, abandoned');
    }
    const dropped = outbox instanceof MemoryOutbox ? (outbox.dropped ?? 0) : 0;
    log.info({ outbox: outbox.kind, dropped, durationMs: Date.now() - started }, 'stopped');
  })());
  const unsent = () => (outbox instanceof MemoryOutbox ? outbox.size : 0);

  return { eventsUrl, metricsUrl: auxUrls.metrics, healthUrl: auxUrls.health, store, stop, unsent };
}
