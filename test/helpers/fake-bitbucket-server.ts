// A local HTTPS server that behaves like Bitbucket Data Center's repository build-status API, for provider and end-to-end tests.
import { startRecordingServer, type RecordedRequest, type RecordingServer, type ScriptedResponse } from './recording-server.js';
import { makeTestPki, type TestPki } from './tls.js';

export interface StoredBuildStatus {
  key: string;
  state: string;
  name?: string;
  description?: string;
  url: string;
  createdDate: number;
  updatedDate: number;
}

/** A scripted answer; without `body` it carries a Bitbucket error document. */
export interface Forced {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

export interface FakeBitbucketOptions {
  /** The exact Authorization header value that is accepted (`Bearer x` or `Basic y`). */
  authorization: string;
  /** Context path before `/rest`, e.g. `/bitbucket`; '' by default. */
  contextPath?: string;
  projectKey?: string;
  repoSlug?: string;
  /** Answer the next requests with these statuses before behaving normally (e.g. [503] to force one retry). */
  failNext?: Forced[];
  /** Without TLS the server speaks plain HTTP. */
  tls?: boolean;
}

export interface FakeBitbucket {
  url: string;
  pki: TestPki;
  server: RecordingServer;
  /** Build statuses by `<commit>/<key>`. */
  statuses: Map<string, StoredBuildStatus>;
  /** Every accepted POST body, parsed. */
  posts: { commit: string; body: Record<string, unknown>; raw: string }[];
  /** Requests the fake refused (wrong path, header or body), with the reason: a test expects this to stay empty. */
  violations: string[];
  failNext: Forced[];
  close(): Promise<void>;
}

const STATES = new Set(['SUCCESSFUL', 'FAILED', 'INPROGRESS', 'CANCELLED', 'UNKNOWN']);

function errorBody(message: string, exceptionName: string): string {
  return JSON.stringify({ errors: [{ context: null, message, exceptionName }] });
}

/** Starts the fake; GET `…/commits/{sha}/builds?key=` answers 200 or 404, POST stores the status and answers 204. */
export async function startFakeBitbucket(opts: FakeBitbucketOptions): Promise<FakeBitbucket> {
  const pki = makeTestPki();
  const statuses = new Map<string, StoredBuildStatus>();
  const posts: FakeBitbucket['posts'] = [];
  const violations: string[] = [];
  const failNext = [...(opts.failNext ?? [])];
  const project = opts.projectKey ?? 'PLAT';
  const repo = opts.repoSlug ?? 'webapp';
  const prefix = `${opts.contextPath ?? ''}/rest/api/latest/projects/${project}/repos/${repo}/commits/`;

  const refuse = (why: string, res: ScriptedResponse): ScriptedResponse => {
    violations.push(why);
    return res;
  };

  const respond = (req: RecordedRequest): ScriptedResponse => {
    const forced = failNext.shift();
    if (forced) {
      return {
        status: forced.status,
        headers: { 'content-type': 'application/json', ...forced.headers },
        body: forced.body ?? errorBody('forced by the test', 'com.atlassian.test.Forced'),
      };
    }
    const json = { 'content-type': 'application/json;charset=UTF-8' };
    const [path = '', query = ''] = req.url.split('?', 2);
    if (!path.startsWith(prefix) || !path.endsWith('/builds')) {
      return refuse(`unexpected path ${req.url}`, { status: 404, headers: json, body: errorBody(`Repository ${project}/${repo} does not exist.`, 'com.atlassian.bitbucket.repository.NoSuchRepositoryException') });
    }
    const commit = path.slice(prefix.length, -'/builds'.length);
    if (!/^[0-9a-f]{40}$/.test(commit)) {
      return refuse(`bad commit ${commit}`, { status: 400, headers: json, body: errorBody('invalid commit', 'com.atlassian.bitbucket.validation.ArgumentValidationException') });
    }
    if (req.headers['authorization'] !== opts.authorization) {
      return { status: 401, headers: json, body: errorBody('Authentication failed. Please check your credentials and try again.', 'com.atlassian.bitbucket.auth.IncorrectPasswordAuthenticationException') };
    }
    if (req.headers['x-atlassian-token'] !== 'no-check') {
      return refuse('missing X-Atlassian-Token: no-check', { status: 403, headers: json, body: errorBody('XSRF check failed', 'com.atlassian.bitbucket.XsrfException') });
    }
    if (req.headers['x-requested-with'] !== 'XMLHttpRequest') violations.push('missing X-Requested-With: XMLHttpRequest');
    if (req.method === 'GET') {
      const params = new URLSearchParams(query);
      if ([...params.keys()].join(',') !== 'key') violations.push(`GET query must be exactly key=: ${query}`);
      if (req.body.length > 0) violations.push('GET with a body');
      const found = statuses.get(`${commit}/${params.get('key') ?? ''}`);
      if (!found) return { status: 404, headers: json, body: errorBody(`No build status with key '${params.get('key')}' exists on commit ${commit}.`, 'com.atlassian.bitbucket.build.status.NoSuchBuildStatusException') };
      return { status: 200, headers: json, body: JSON.stringify(found) };
    }
    if (req.method !== 'POST') return refuse(`method ${req.method}`, { status: 405 });
    if (query !== '') violations.push(`POST with a query: ${query}`);
    if (req.headers['content-type'] !== 'application/json') violations.push(`POST content-type ${req.headers['content-type']}`);
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(req.text) as Record<string, unknown>;
    } catch {
      return refuse('POST body is not JSON', { status: 400, headers: json, body: errorBody('bad JSON', 'org.codehaus.jackson.JsonParseException') });
    }
    const str = (k: string) => (typeof body[k] === 'string' ? (body[k] as string) : undefined);
    const problems: string[] = [];
    if (!str('key') || str('key')!.length > 255) problems.push('key blank or longer than 255');
    if (!str('url') || str('url')!.length > 450) problems.push('url blank or longer than 450');
    if (!STATES.has(str('state') ?? '')) problems.push('invalid state');
    if ((str('name') ?? '').length > 255) problems.push('name longer than 255');
    if ((str('description') ?? '').length > 255) problems.push('description longer than 255');
    if (problems.length > 0) {
      return refuse(problems.join('; '), { status: 400, headers: json, body: errorBody(problems.join('; '), 'com.atlassian.bitbucket.validation.ArgumentValidationException') });
    }
    const now = Date.now();
    const previous = statuses.get(`${commit}/${str('key')}`);
    const stored: StoredBuildStatus = { key: str('key')!, state: str('state')!, url: str('url')!, createdDate: previous?.createdDate ?? now, updatedDate: now };
    if (str('name') !== undefined) stored.name = str('name')!;
    if (str('description') !== undefined) stored.description = str('description')!;
    statuses.set(`${commit}/${stored.key}`, stored);
    posts.push({ commit, body, raw: req.text });
    return { status: 204 };
  };

  const server = await startRecordingServer({
    ...(opts.tls === false ? {} : { tls: { key: pki.serverKey, cert: pki.serverCert } }),
    respond,
  });
  return { url: server.url, pki, server, statuses, posts, violations, failNext, close: () => server.close() };
}
