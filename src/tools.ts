// The user tools behind `herald check` and `herald explain`: load a config directory once and report in plain lines.
import { readFile } from 'node:fs/promises';
import { EVENT_SOURCE_KINDS } from './api/alert.js';
import { cloneEvent, decodeEvent, describeObject } from './api/event.js';
import { createLogger } from './logger.js';
import { startDirectorySource } from './resources/directory.js';
import { formatProblem } from './resources/manifests.js';
import { COSTLY_PATTERN_INSTRUCTIONS, MAX_PATTERN_INSTRUCTIONS, ResourceStore } from './resources/store.js';
import { INLINE_COST, MATCH_BUDGET_MS } from './routing/pattern-worker.js';
import { explainAlert } from './routing/match.js';
import { ALL_NAMESPACES, AllNamespacePolicy } from './routing/all-namespaces.js';
import { cleanMetadata, removeInternalMetadata } from './routing/metadata.js';
import { prepareNotification } from './routing/notification.js';
import { compileCommitStatusExpr } from './routing/commit-status.js';
import { providerDefinition } from './providers/registry.js';
import { ProviderRuntime } from './providers/runtime.js';
import { resolveProviderSettings } from './providers/settings/resolve.js';
import { formatPreview, previewNotification } from './preview.js';
import { AlertTemplates } from './routing/templates.js';
import { checkGroupWindow } from './delivery/grouping.js';

async function loadDirectory(dir: string, policy = AllNamespacePolicy.none): Promise<{ store: ResourceStore; problems: string[] }> {
  const store = new ResourceStore();
  store.setAllNamespacePolicy(policy);
  const invalid: string[] = [];
  store.onInvalidPattern = (alert, list, pattern, error) =>
    invalid.push(`Alert ${alert.metadata.namespace}/${alert.metadata.name}: spec.${list}List: failed to compile ${list} regex: ${pattern}: ${error}`);
  const source = await startDirectorySource(store, { dir, log: createLogger({ level: 'error' }), pollIntervalMs: 3_600_000 });
  const problems = source.problems().map(formatProblem);
  await source.close();
  return { store, problems: [...problems, ...invalid] };
}

/** Validates every manifest and every reference; prints one line per problem and returns the exit code. */
export async function checkDirectory(dir: string, out: (line: string) => void = (l) => console.log(l), policy = AllNamespacePolicy.none): Promise<number> {
  const { store, problems } = await loadDirectory(dir, policy);
  const warnings: string[] = [];
  const templates = new AlertTemplates({ configDir: dir });
  for (const c of store.alerts()) {
    const a = c.alert;
    for (const line of templates.check(a, store.provider(a.metadata.namespace, a.spec.providerRef.name)?.spec.type)) {
      (line.startsWith('warning: ') ? warnings : problems).push(line);
    }
    for (const line of checkGroupWindow(a, store.provider(a.metadata.namespace, a.spec.providerRef.name)?.spec.type)) {
      (line.startsWith('warning: ') ? warnings : problems).push(line);
    }
    for (const [i, source] of a.spec.eventSources.entries()) {
      if (!(EVENT_SOURCE_KINDS as readonly string[]).includes(source.kind)) {
        warnings.push(`warning: Alert ${a.metadata.namespace}/${a.metadata.name}: spec.eventSources.${i}.kind: ${source.kind} is not one of Flux's kinds (${EVENT_SOURCE_KINDS.join(', ')}); it only matches events of exactly that kind`);
      }
      const refused = source.namespace === ALL_NAMESPACES ? policy.refusal(a.metadata.namespace) : undefined;
      if (refused) warnings.push(`warning: Alert ${a.metadata.namespace}/${a.metadata.name}: spec.eventSources.${i}.namespace: ${refused}`);
    }
    for (const [list, patterns] of [['inclusion', c.inclusion], ['exclusion', c.exclusion]] as const) {
      for (const p of patterns) {
        if (p.regex !== undefined && (p.instructions ?? 0) > COSTLY_PATTERN_INSTRUCTIONS) {
          warnings.push(`warning: Alert ${a.metadata.namespace}/${a.metadata.name}: spec.${list}List: costly ${list} regex ${p.pattern}: its program has ${p.instructions} instructions (refused above ${MAX_PATTERN_INSTRUCTIONS}); messages longer than ${Math.floor(INLINE_COST / p.instructions!)} characters are matched off the event loop and count as not matching after ${MATCH_BUDGET_MS} ms`);
        }
      }
    }
    if (!store.provider(a.metadata.namespace, a.spec.providerRef.name)) {
      problems.push(`Alert ${a.metadata.namespace}/${a.metadata.name}: spec.providerRef: Provider ${a.metadata.namespace}/${a.spec.providerRef.name} not found`);
    }
  }
  // Configs are built as the server builds them (transports included), then released.
  const runtime = new ProviderRuntime();
  for (const p of store.allProviders().sort((x, y) => `${x.metadata.namespace}/${x.metadata.name}`.localeCompare(`${y.metadata.namespace}/${y.metadata.name}`))) {
    const id = `Provider ${p.metadata.namespace}/${p.metadata.name}`;
    const def = providerDefinition(p.spec.type);
    try {
      const settings = resolveProviderSettings(p, (ns, n) => store.secret(ns, n));
      if (!def) {
        problems.push(`${id}: spec.type: provider type ${p.spec.type} is not supported by this Herald version`);
        continue;
      }
      const config = def.parse(settings, { runtime });
      await def.close?.(config);
      // Compile errors of commitStatusExpr would otherwise only show on the first event.
      if (p.spec.commitStatusExpr) compileCommitStatusExpr(p.spec.commitStatusExpr);
    } catch (err) {
      const message = (err as Error).message;
      // Settings errors already name the Provider.
      problems.push(message.startsWith(`provider ${p.metadata.namespace}/${p.metadata.name}`) ? `Provider ${message.slice('provider '.length)}` : `${id}: ${message}`);
    }
  }
  await runtime.close();
  for (const line of [...problems, ...warnings]) out(line);
  const counts = store.counts();
  out(problems.length === 0
    ? `ok: ${counts.alerts} Alerts, ${counts.providers} Providers, ${counts.secrets} Secrets, ${counts.objects} other objects`
    : `${problems.length} problem(s) in ${dir}`);
  return problems.length === 0 ? 0 : 1;
}

/** For each Alert: whether the event matches, what happens at its provider, or the first rule that excluded it. */
export async function explainDirectory(
  dir: string,
  eventFile: string,
  out: (line: string) => void = (l) => console.log(l),
  opts: { render?: boolean; policy?: AllNamespacePolicy } = {},
): Promise<number> {
  const policy = opts.policy ?? AllNamespacePolicy.none;
  const runtime = opts.render ? new ProviderRuntime() : undefined;
  const templates = new AlertTemplates({ configDir: dir });
  const { store, problems } = await loadDirectory(dir, policy);
  for (const p of problems) out(`warning: ${p}`);
  const event = removeInternalMetadata(cleanMetadata(decodeEvent(await readFile(eventFile))));
  out(`event ${describeObject(event.involvedObject)} severity=${event.severity} reason=${event.reason}`);
  let matches = 0;
  for (const c of store.alerts()) {
    const a = c.alert.metadata;
    const verdict = await explainAlert(event, c, store.storedLabels, [], policy);
    if (!verdict.matched) {
      out(`  ${a.namespace}/${a.name}: no match: ${verdict.rule}`);
      continue;
    }
    const prepared = prepareNotification(cloneEvent(event), c, { noCrossNamespaceRefs: policy.noCrossNamespaceRefs, provider: (ns, n) => store.provider(ns, n) });
    const via = `source ${verdict.source.kind}/${verdict.source.name}`;
    switch (prepared.kind) {
      case 'ready':
        if (!providerDefinition(prepared.provider.spec.type)) {
          out(`  ${a.namespace}/${a.name}: matches (${via}) but fails: provider type ${prepared.provider.spec.type} is not supported by this Herald version`);
          break;
        }
        matches++;
        out(`  ${a.namespace}/${a.name}: MATCH (${via}) -> ${prepared.provider.spec.type} provider ${prepared.provider.metadata.name}${prepared.notification.commitStatusId ? ` (commit status id ${prepared.notification.commitStatusId})` : ''}`);
        if (runtime) {
          const preview = await previewNotification(prepared.notification, c.alert, prepared.provider, { templates, runtime, secret: (ns, n) => store.secret(ns, n) });
          for (const line of formatPreview(preview)) out(line === '' ? '' : `    ${line}`);
        }
        break;
      case 'skip':
        out(`  ${a.namespace}/${a.name}: matches (${via}) but not sent: ${prepared.why}`);
        break;
      case 'drop':
        out(`  ${a.namespace}/${a.name}: matches (${via}) but dropped: ${prepared.gate === 'commit-status' ? 'commit-status providers need a commit, a commit_status=update or an error event' : 'change-request providers need event.toolkit.fluxcd.io/change_request metadata'}`);
        break;
      case 'error':
        out(`  ${a.namespace}/${a.name}: matches (${via}) but fails: ${prepared.message}`);
        break;
    }
  }
  await runtime?.close();
  out(`${matches} notification(s) would be sent${runtime ? ' (nothing was sent)' : ''}`);
  return 0;
}
