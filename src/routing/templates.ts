// Alert message templates (docs/templates.md): `herald.dev/template` / `herald.dev/template-ref` replace the text that
// chat and incident types send, or the whole body of generic / generic-hmac. Liquid, configured for untrusted
// templates: no file system, limits on parse size, render time, memory and output. A template that fails leaves the
// notification in Flux's format: an Alert never sends nothing because of its template.
import { readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { Liquid, type Template } from 'liquidjs';
import type { Alert } from '../api/alert.js';
import { GENERIC_TYPES, PROVIDER_CATEGORY, type Provider, type ProviderType } from '../api/provider.js';
import { escapeMarkdownV2 } from '../providers/chat/telegram.js';
import type { Rendered } from '../providers/rendered.js';
import type { Notification } from '../providers/types.js';

export const TEMPLATE_ANNOTATION = 'herald.dev/template';
export const TEMPLATE_REF_ANNOTATION = 'herald.dev/template-ref';
export const TEMPLATE_TITLE_ANNOTATION = 'herald.dev/template-title';
export const TEMPLATE_CONTENT_TYPE_ANNOTATION = 'herald.dev/template-content-type';

export interface TemplateLimits {
  /** Longest template source, in characters (liquidjs parseLimit). */
  parseChars: number;
  /** Longest render, in milliseconds (liquidjs renderLimit). */
  renderMs: number;
  /** Memory a render may allocate for strings and arrays (liquidjs memoryLimit, in its units). */
  memory: number;
  /** Largest rendered text or body, in UTF-8 bytes. */
  outputBytes: number;
}

export const DEFAULT_TEMPLATE_LIMITS: Readonly<TemplateLimits> = {
  parseChars: 64 * 1024,
  renderMs: 250,
  memory: 4_000_000,
  outputBytes: 256 * 1024,
};

/** How long a template file's text is reused before it is read again (edits show up within this time). */
const FILE_TTL_MS = 2_000;
/** Compiled templates kept (keyed by template text); the oldest go first. */
const MAX_COMPILED = 1_000;

/** What a template replaces for a provider type: the text (chat, incident), the body (generic), or nothing. */
export function templateTarget(type: string): 'text' | 'body' | undefined {
  if (GENERIC_TYPES.has(type)) return 'body';
  const category = PROVIDER_CATEGORY[type as ProviderType];
  return category === 'chat' || category === 'incident' ? 'text' : undefined;
}

/** Whether the Alert asks for a template at all (the fast path of every dispatch without one). */
export function hasTemplate(alert: Alert): boolean {
  const a = alert.metadata.annotations;
  return a !== undefined && (a[TEMPLATE_ANNOTATION] !== undefined || a[TEMPLATE_REF_ANNOTATION] !== undefined);
}

/** A template that cannot be used: the message names the Alert and the annotation. */
export class TemplateError extends Error {
  override readonly name = 'TemplateError';
}

interface Sources {
  text: { where: string; source: string };
  title?: { where: string; source: string };
  contentType: string;
}

export interface RenderOutcome {
  rendered?: Rendered;
  /** Why Flux's format is used instead (already names the Alert); the caller logs it and records a Warning Event. */
  error?: string;
}

export interface AlertTemplatesOptions {
  /** The config directory `herald.dev/template-ref` paths are relative to; without it only inline templates work. */
  configDir?: string;
  limits?: Partial<TemplateLimits>;
}

/** One Herald instance's template engine and its caches. */
export class AlertTemplates {
  private readonly limits: TemplateLimits;
  private readonly liquid: Liquid;
  private readonly compiled = new Map<string, Template[] | TemplateError>();
  private readonly files = new Map<string, { text: string; readAt: number }>();

  constructor(private readonly opts: AlertTemplatesOptions = {}) {
    this.limits = { ...DEFAULT_TEMPLATE_LIMITS, ...opts.limits };
    this.liquid = new Liquid({
      // An in-memory, empty template map: include / render / layout find nothing, the disk is never read.
      templates: {},
      dynamicPartials: false,
      strictVariables: false,
      strictFilters: true,
      ownPropertyOnly: true,
      parseLimit: this.limits.parseChars,
      renderLimit: this.limits.renderMs,
      memoryLimit: this.limits.memory,
    });
    this.liquid.registerFilter('telegram_escape', (v: unknown) => escapeMarkdownV2(String(v ?? '')));
  }

  /**
   * The problems `herald check` reports for one Alert: a missing or escaping file, a template that does not parse,
   * a template on a type that is never templated.
   */
  check(alert: Alert, providerType: string | undefined): string[] {
    if (!hasTemplate(alert)) {
      const a = alert.metadata.annotations ?? {};
      const alone = [TEMPLATE_TITLE_ANNOTATION, TEMPLATE_CONTENT_TYPE_ANNOTATION].filter((k) => a[k] !== undefined);
      return alone.map((k) => `warning: ${alertId(alert)}: ${k} is ignored without ${TEMPLATE_ANNOTATION} or ${TEMPLATE_REF_ANNOTATION}`);
    }
    const id = alertId(alert);
    if (providerType !== undefined && templateTarget(providerType) === undefined) {
      return [`warning: ${id}: ${TEMPLATE_ANNOTATION}: ${providerType} providers are never templated (commit-status, change-request and bus types send Flux's format); the template is ignored`];
    }
    try {
      const s = this.sources(alert);
      this.compile(s.text.where, s.text.source);
      if (s.title) this.compile(s.title.where, s.title.source);
      return [];
    } catch (err) {
      return [(err as Error).message];
    }
  }

  /** Renders the Alert's template for one notification; never throws. Undefined outcome fields mean Flux's format. */
  async render(n: Notification, alert: Alert, provider: Provider): Promise<RenderOutcome> {
    if (!hasTemplate(alert)) return {};
    const target = templateTarget(provider.spec.type);
    if (target === undefined) return {};
    try {
      const s = this.sources(alert);
      const scope = templateScope(n, alert, provider);
      const text = await this.renderOne(s.text.where, s.text.source, scope);
      if (target === 'body') return { rendered: { body: text, contentType: s.contentType } };
      const title = s.title ? await this.renderOne(s.title.where, s.title.source, scope) : undefined;
      return { rendered: title !== undefined ? { text, title } : { text } };
    } catch (err) {
      return { error: `${(err as Error).message}; sending Flux's format instead` };
    }
  }

  private sources(alert: Alert): Sources {
    const a = alert.metadata.annotations ?? {};
    const id = alertId(alert);
    const inline = a[TEMPLATE_ANNOTATION];
    const ref = a[TEMPLATE_REF_ANNOTATION];
    if (inline !== undefined && ref !== undefined) {
      throw new TemplateError(`${id}: set either ${TEMPLATE_ANNOTATION} or ${TEMPLATE_REF_ANNOTATION}, not both`);
    }
    const text = inline !== undefined
      ? { where: `${id}: ${TEMPLATE_ANNOTATION}`, source: inline }
      : { where: `${id}: ${TEMPLATE_REF_ANNOTATION} ${ref}`, source: this.readRef(id, ref ?? '') };
    const contentType = (a[TEMPLATE_CONTENT_TYPE_ANNOTATION] ?? 'application/json').trim();
    if (contentType === '' || /[\r\n\0]/.test(contentType)) {
      throw new TemplateError(`${id}: ${TEMPLATE_CONTENT_TYPE_ANNOTATION}: not a valid Content-Type value`);
    }
    const title = a[TEMPLATE_TITLE_ANNOTATION];
    return { text, contentType, ...(title !== undefined ? { title: { where: `${id}: ${TEMPLATE_TITLE_ANNOTATION}`, source: title } } : {}) };
  }

  /** A template file below the config directory: relative, no `..`, no symbolic link out of the directory. */
  private readRef(id: string, ref: string): string {
    const where = `${id}: ${TEMPLATE_REF_ANNOTATION}`;
    if (ref.startsWith('configmap:')) {
      throw new TemplateError(`${where}: ConfigMap templates (${ref}) are not supported yet; use ${TEMPLATE_ANNOTATION} or a file in the config directory`);
    }
    const dir = this.opts.configDir;
    if (dir === undefined) throw new TemplateError(`${where}: template files need --config-dir; in cluster mode use ${TEMPLATE_ANNOTATION}`);
    if (ref.trim() === '' || path.isAbsolute(ref) || ref.split(/[\\/]/).includes('..')) {
      throw new TemplateError(`${where}: ${JSON.stringify(ref)} must be a relative path inside the config directory, without '..'`);
    }
    const now = Date.now();
    const cached = this.files.get(ref);
    if (cached && now - cached.readAt < FILE_TTL_MS) return cached.text;
    let text: string;
    try {
      const root = realpathSync(dir);
      const file = realpathSync(path.join(root, ref));
      if (!file.startsWith(root + path.sep)) throw new TemplateError(`${where}: the file resolves outside the config directory`);
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if (err instanceof TemplateError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      throw new TemplateError(`${where}: cannot read the template file${code ? ` (${code})` : ''}`);
    }
    this.files.set(ref, { text, readAt: now });
    return text;
  }

  /** Parsed once per template text; a parse error is remembered as well. */
  private compile(where: string, source: string): Template[] {
    let entry = this.compiled.get(source);
    if (entry === undefined) {
      try {
        entry = this.liquid.parse(source);
      } catch (err) {
        entry = new TemplateError(`failed to parse template: ${(err as Error).message}`);
      }
      if (this.compiled.size >= MAX_COMPILED) this.compiled.delete(this.compiled.keys().next().value!);
      this.compiled.set(source, entry);
    }
    if (entry instanceof TemplateError) throw new TemplateError(`${where}: ${entry.message}`);
    return entry;
  }

  private async renderOne(where: string, source: string, scope: Record<string, unknown>): Promise<string> {
    const template = this.compile(where, source);
    let out: string;
    try {
      out = String(await this.liquid.render(template, scope));
    } catch (err) {
      throw new TemplateError(`${where}: template render failed: ${(err as Error).message}`);
    }
    const bytes = Buffer.byteLength(out, 'utf8');
    if (bytes > this.limits.outputBytes) {
      throw new TemplateError(`${where}: template output is ${bytes} bytes, over the limit of ${this.limits.outputBytes}`);
    }
    return out;
  }
}

function alertId(alert: Alert): string {
  return `Alert ${alert.metadata.namespace}/${alert.metadata.name}`;
}

/**
 * The variables a template sees: the event (metadata merged), the Alert and the Provider. Never a Secret value and
 * never the Provider's address (it may carry a webhook key).
 */
export function templateScope(n: Notification, alert: Alert, provider: Provider): Record<string, unknown> {
  const e = n.event;
  return {
    event: {
      involvedObject: { ...e.involvedObject },
      severity: e.severity,
      timestamp: e.timestamp,
      message: e.message,
      reason: e.reason,
      metadata: { ...e.metadata },
      reportingController: e.reportingController,
      reportingInstance: e.reportingInstance ?? '',
    },
    alert: {
      name: alert.metadata.name,
      namespace: alert.metadata.namespace,
      annotations: { ...alert.metadata.annotations },
      eventMetadata: { ...alert.spec.eventMetadata },
    },
    provider: {
      name: provider.metadata.name,
      namespace: provider.metadata.namespace,
      type: provider.spec.type,
      channel: provider.spec.channel ?? '',
    },
  };
}
