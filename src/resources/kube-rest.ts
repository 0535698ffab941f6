// Plain REST calls to the Kubernetes API (list pages, metadata reads, Events, patches) with a client-node KubeConfig's credentials.
import { HttpMethod, RequestContext, type KubeConfig } from '@kubernetes/client-node';
import { fetch, type Dispatcher } from 'undici';

/** A failed API call: the HTTP status and the Status reason the API server gave. */
export class KubeApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

export interface KubeRequestOptions {
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  contentType?: string;
  accept?: string;
  timeoutMs?: number;
}

export interface KubeListBody {
  metadata?: { resourceVersion?: string; continue?: string };
  items?: unknown[];
}

export const PARTIAL_OBJECT_METADATA_ACCEPT = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json';

/**
 * Authenticated JSON requests. client-node's generated clients deserialize into classes and make
 * Accept/Content-Type negotiation awkward; this goes through the same KubeConfig authentication
 * (token files, exec plugins, client certificates) for every request.
 */
export class KubeRest {
  readonly server: string;
  private dispatcher: Dispatcher | undefined;
  private dispatcherKnown = false;

  constructor(
    private readonly kc: KubeConfig,
    private readonly defaultTimeoutMs = 15_000,
  ) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    this.server = cluster.server.replace(/\/+$/, '');
  }

  async request<T>(method: HttpMethod, path: string, opts: KubeRequestOptions = {}): Promise<T> {
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
    const ctx = new RequestContext(url.toString(), method);
    // Re-applied per request so rotated service-account tokens are picked up.
    await this.kc.applySecurityAuthentication(ctx);
    if (!this.dispatcherKnown) {
      // client-node builds a new undici Agent per call; keeping the first one reuses its connections.
      this.dispatcher = ctx.getDispatcher();
      this.dispatcherKnown = true;
    }
    const headers: Record<string, string> = { ...ctx.getHeaders(), Accept: opts.accept ?? 'application/json' };
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['Content-Type'] = opts.contentType ?? 'application/json';
    }
    const res = await fetch(url, {
      method,
      headers,
      body,
      dispatcher: this.dispatcher,
      signal: AbortSignal.timeout(opts.timeoutMs ?? this.defaultTimeoutMs),
    });
    const text = await res.text();
    if (res.status < 200 || res.status > 299) {
      let reason = '';
      let message = text.slice(0, 512);
      try {
        const st = JSON.parse(text) as { reason?: string; message?: string };
        reason = st.reason ?? '';
        message = st.message ?? message;
      } catch {
        // not a Status object: keep the raw text
      }
      throw new KubeApiError(res.status, reason, `${method} ${url.pathname}: ${res.status}${reason ? ` ${reason}` : ''}: ${message}`);
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }

  get<T>(path: string, opts?: KubeRequestOptions): Promise<T> {
    return this.request<T>(HttpMethod.GET, path, opts);
  }

  post<T>(path: string, body: unknown, opts?: KubeRequestOptions): Promise<T> {
    return this.request<T>(HttpMethod.POST, path, { ...opts, body });
  }

  patch<T>(path: string, body: unknown, contentType: 'application/merge-patch+json' | 'application/json-patch+json' | 'application/strategic-merge-patch+json', opts?: KubeRequestOptions): Promise<T> {
    return this.request<T>(HttpMethod.PATCH, path, { ...opts, body, contentType });
  }
}

/** The collection path of a resource: /api/v1/... for the core group, /apis/<group>/<version>/... otherwise. */
export function collectionPath(group: string, version: string, resource: string, namespace?: string): string {
  const base = group ? `/apis/${group}/${version}` : `/api/${version}`;
  return namespace ? `${base}/namespaces/${encodeURIComponent(namespace)}/${resource}` : `${base}/${resource}`;
}
