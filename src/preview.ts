// `herald explain DIR EVENT.json --render`: the exact request each matching Provider would get, built by the same
// code that sends it (the definition's `preview` hook), with the Alert's template applied, and never sent.
import type { Alert } from './api/alert.js';
import type { Provider } from './api/provider.js';
import { maskSecrets } from './logger.js';
import { providerDefinition } from './providers/registry.js';
import type { ProviderRuntime } from './providers/runtime.js';
import { resolveProviderSettings, SENSITIVE_HEADER } from './providers/settings/resolve.js';
import type { Notification, RequestPreview, ProviderSettings } from './providers/types.js';
import type { Secret } from './api/secret.js';
import type { AlertTemplates } from './routing/templates.js';

export interface PreviewResult {
  /** The request as it would go on the wire (not masked): for tests that compare it with what a server receives. */
  request?: RequestPreview;
  /** The Alert's template failed: Flux's format is previewed instead. */
  templateError?: string;
  /** The Provider cannot be built (its settings are wrong). */
  error?: string;
  /** Values to mask when the preview is shown. */
  sensitive: string[];
}

export interface PreviewDeps {
  templates: AlertTemplates;
  runtime: ProviderRuntime;
  secret: (namespace: string, name: string) => Secret | undefined;
}

/** Builds the request for one prepared notification (the notification gains the template's output). */
export async function previewNotification(n: Notification, alert: Alert, provider: Provider, deps: PreviewDeps): Promise<PreviewResult> {
  const def = providerDefinition(provider.spec.type);
  if (!def) return { error: `provider type ${provider.spec.type} is not supported by this Herald version`, sensitive: [] };
  const outcome = await deps.templates.render(n, alert, provider);
  if (outcome.rendered) n.rendered = outcome.rendered;
  const base = outcome.error !== undefined ? { templateError: outcome.error } : {};
  let settings: ProviderSettings;
  let config: unknown;
  try {
    settings = resolveProviderSettings(provider, deps.secret);
    config = def.parse(settings, { runtime: deps.runtime });
  } catch (err) {
    return { ...base, error: (err as Error).message, sensitive: [] };
  }
  // Chat types keep the key parts of a webhook given in spec.address in `masked`.
  const inner = (config as { config?: { masked?: unknown } } | undefined)?.config?.masked;
  const sensitive = [...settings.sensitive, ...(Array.isArray(inner) ? inner.filter((v): v is string => typeof v === 'string') : [])];
  try {
    const request = def.preview
      ? def.preview(n, config) ?? { kind: 'none' as const, why: `${provider.spec.type} sends nothing for this event` }
      : { kind: 'none' as const, why: `preview not available for ${provider.spec.type}` };
    return { ...base, request, sensitive };
  } catch (err) {
    return { ...base, error: maskSecrets((err as Error).message, sensitive), sensitive };
  } finally {
    await def.close?.(config);
  }
}

/** The preview as lines: method and URL, headers, a blank line and the body; secrets and credentials masked. */
export function formatPreview(p: PreviewResult): string[] {
  const mask = (s: string) => maskSecrets(s, p.sensitive);
  const lines: string[] = [];
  if (p.templateError !== undefined) lines.push(`template failed: ${mask(p.templateError)}`);
  if (p.error !== undefined) {
    lines.push(`preview not available: ${mask(p.error)}`);
    return lines;
  }
  const r = p.request;
  if (!r) return lines;
  switch (r.kind) {
    case 'none':
      lines.push(r.why);
      break;
    case 'publish':
      lines.push(`PUBLISH ${mask(r.target)}`, '', ...mask(r.payload).split('\n'));
      break;
    case 'http':
      lines.push(`${r.method} ${mask(r.url)}`);
      for (const [name, value] of Object.entries(r.headers)) {
        // Credentials a type derives itself (Basic auth, API keys) are not Secret values as such: hidden by name.
        lines.push(`${name}: ${SENSITIVE_HEADER.test(name) && name.toLowerCase() !== 'x-signature' ? maskCredential(value) : mask(value)}`);
      }
      if (r.body !== undefined) lines.push('', ...mask(typeof r.body === 'string' ? r.body : r.body.toString('utf8')).split('\n'));
      break;
  }
  return lines;
}

/** `Bearer *****`: the scheme stays readable, the credential does not. */
function maskCredential(value: string): string {
  const space = value.indexOf(' ');
  return space > 0 && space < 20 ? `${value.slice(0, space)} *****` : '*****';
}
