// Wires one Herald process: resource source, store, dispatcher, outbox and workers, and the three HTTP servers.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from './config.js';
import type { Logger } from './logger.js';
import { ResourceStore, type LabelLookup } from './resources/store.js';
import { LogEventRecorder, type AlertEventRecorder } from './resources/recorder.js';
import { startDirectorySource } from './resources/directory.js';
import { MemoryDedupStore, type DedupStore } from './server/dedup.js';
import { createEventServer } from './server/event-server.js';
import { createAuxServer, listen, urlOf } from './server/health.js';
import { collectProcessMetrics } from './metrics.js';
import { Dispatcher } from './delivery/dispatcher.js';
import { MemoryOutbox } from './delivery/memory.js';
import type { Outbox } from './delivery/outbox.js';
import { ProviderCache } from './delivery/provider-cache.js';
import { DurableRetryPolicy, FluxRetryPolicy } from './delivery/retry.js';
import { createDeliveryHandler } from './delivery/worker.js';
import { ProviderRuntime } from './providers/runtime.js';
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
    closers.push(() => source.close());
  }

  let dedup: DedupStore;
  let outbox: Outbox;
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
    closers.push(() => backends.close());
  } else {
    dedup = new MemoryDedupStore(config.rateLimitInterval);
    outbox = new MemoryOutbox({ perProviderConcurrency: config.deliveryConcurrency, log: log.child({ logger: 'outbox' }) });
    closers.push(async () => dedup.close?.());
  }

  const runtime = new ProviderRuntime();
  const providers = new ProviderCache(store, log, runtime);
  const policy = config.outbox === 'jetstream'
    ? new DurableRetryPolicy(config.maxDeliveryAge, config.retryInitialDelay, config.retryMaxDelay)
    : new FluxRetryPolicy();
  const handler = createDeliveryHandler({ store, providers, recorder, policy, log: log.child({ logger: 'delivery' }) });
  outbox.start(trace ? traceDeliveries(handler, trace) : handler);

  const dispatcher = new Dispatcher({ store, labels, providers, outbox, recorder, log: log.child({ logger: 'event-server' }), noCrossNamespaceRefs: config.noCrossNamespaceRefs, trace });
  const events = createEventServer({ dedup, dispatcher, log: log.child({ logger: 'event-server' }), exportHttpPathMetrics: config.exportHttpPathMetrics, accepting: () => accepting, onDuplicate: trace && ((e) => trace.duplicate(e)) });
  await events.listen({ host: config.eventsAddr.host, port: config.eventsAddr.port });
  const eventsAddr = events.server.address() as AddressInfo;
  const eventsUrl = urlOf(eventsAddr);
  log.info({ server: 'events', address: eventsUrl, outbox: outbox.kind, resources: store.counts() }, 'listening');

  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= (async () => {
    accepting = false;
    log.info('shutting down: refusing new events, finishing deliveries');
    await events.close();
    await outbox.close(config.shutdownGracePeriod);
    await providers.closeAll();
    await runtime.close();
    for (const c of closers.reverse()) await c().catch((err: Error) => log.error({ err: err.message }, 'shutdown step failed'));
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    log.info('stopped');
  })());

  return { eventsUrl, metricsUrl: auxUrls.metrics, healthUrl: auxUrls.health, store, stop };
}
