// Local HTTPS fakes of the GitLab, Gitea, Bitbucket Cloud and Azure DevOps APIs the git providers call (statuses,
// comments, the token's user), with state, authentication and scripted failures, for the providers' integration tests.
import { afterEach, expect } from 'vitest';
import { startRecordingServer, type RecordedRequest, type RecordingServer, type ScriptedResponse } from './recording-server.js';
import { makeTestPki, type TestPki } from './tls.js';

export interface Forced {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

/** A comment or note as a fake stores it. */
export interface StoredComment {
  id: number;
  author: string;
  body: string;
}

export interface FakeHost {
  url: string;
  pki: TestPki;
  server: RecordingServer;
  /** Requests a real server would have refused or that break the spec (wrong header, path, body): tests expect none. */
  violations: string[];
  /** Answer the next requests with these before behaving normally. */
  failNext: Forced[];
  /** Stored statuses (the fake's own JSON shape), newest last. */
  statuses: Record<string, unknown>[];
  /** Comments / notes of change request `number`. */
  comments: Map<number, StoredComment[]>;
  /** Methods and paths of the requests, in order (`GET /api/v4/user`). */
  calls(): string[];
  close(): Promise<void>;
}

/** Closes the fakes a test started, after checking that none saw a request that breaks the spec. */
export function trackHosts(): (h: FakeHost) => FakeHost {
  const hosts: FakeHost[] = [];
  afterEach(async () => {
    const started = hosts.splice(0);
    try {
      for (const h of started) expect(h.violations).toEqual([]);
    } finally {
      await Promise.all(started.map((h) => h.close()));
    }
  });
  return (h) => {
    hosts.push(h);
    return h;
  };
}

type Handler = (req: RecordedRequest, path: string, query: URLSearchParams, host: FakeHost) => ScriptedResponse;

const JSON_HEADERS = { 'Content-Type': 'application/json' };

export function jsonResponse(status: number, doc: unknown): ScriptedResponse {
  return { status, headers: JSON_HEADERS, body: JSON.stringify(doc) };
}

function parseBody(req: RecordedRequest, host: FakeHost): Record<string, unknown> {
  try {
    return JSON.parse(req.text) as Record<string, unknown>;
  } catch {
    host.violations.push(`${req.method} ${req.url}: body is not JSON`);
    return {};
  }
}

async function startHost(opts: { tls?: boolean; authorized(req: RecordedRequest): boolean; unauthorized: ScriptedResponse }, handle: Handler): Promise<FakeHost> {
  const pki = makeTestPki();
  const host: FakeHost = {
    url: '', pki, server: undefined as unknown as RecordingServer, violations: [], failNext: [], statuses: [], comments: new Map(),
    calls: () => host.server.requests.map((r) => `${r.method} ${r.url}`),
    close: () => host.server.close(),
  };
  host.server = await startRecordingServer({
    ...(opts.tls === false ? {} : { tls: { key: pki.serverKey, cert: pki.serverCert } }),
    respond: (req) => {
      const forced = host.failNext.shift();
      if (forced) return { status: forced.status, headers: { ...JSON_HEADERS, ...forced.headers }, body: forced.body ?? '{"message":"forced by the test"}' };
      if (!opts.authorized(req)) return opts.unauthorized;
      const [path = '', query = ''] = req.url.split('?', 2);
      return handle(req, path, new URLSearchParams(query), host);
    },
  });
  host.url = host.server.url.replace('127.0.0.1', 'localhost');
  return host;
}

function nextId(host: FakeHost, start: number): number {
  let max = start;
  for (const list of host.comments.values()) for (const c of list) max = Math.max(max, c.id);
  return max + 1;
}

// ---- GitLab ---------------------------------------------------------------------------------------------------

/** GitLab's REST API for one project (`project` as it appears escaped in paths, e.g. `acme%2Fplatform%2Fwebapp`). */
export function startFakeGitLab(opts: { token: string; username: string; project: string; tls?: boolean }): Promise<FakeHost> {
  const prefix = `/api/v4/projects/${opts.project}/`;
  let nextStatus = 100;
  return startHost({
    ...(opts.tls !== undefined ? { tls: opts.tls } : {}),
    authorized: (req) => req.headers['private-token'] === opts.token,
    unauthorized: jsonResponse(401, { message: '401 Unauthorized' }),
  }, (req, path, query, host) => {
    if (req.headers['authorization'] !== undefined) host.violations.push('Authorization header sent to GitLab');
    if (req.headers['accept'] !== 'application/json') host.violations.push(`${req.method} ${path}: Accept ${req.headers['accept']}`);
    if (req.method !== 'GET' && req.headers['content-type'] !== 'application/json') host.violations.push(`${req.method} ${path}: Content-Type ${req.headers['content-type']}`);
    if (path === '/api/v4/user' && req.method === 'GET') return jsonResponse(200, { id: 7, username: opts.username, name: 'Flux' });
    if (!path.startsWith(prefix)) return jsonResponse(404, { message: '404 Project Not Found' });
    const rest = path.slice(prefix.length);
    let m = /^repository\/commits\/([0-9a-f]{40})\/statuses$/.exec(rest);
    if (m && req.method === 'GET') {
      const name = query.get('name');
      // Without `all`, GitLab lists only the latest status per name.
      const latest = new Map<string, Record<string, unknown>>();
      for (const s of host.statuses) if (s['sha'] === m[1] && (name === null || s['name'] === name)) latest.set(s['name'] as string, s);
      return jsonResponse(200, [...latest.values()].reverse());
    }
    m = /^statuses\/([0-9a-f]{40})$/.exec(rest);
    if (m && req.method === 'POST') {
      const body = parseBody(req, host);
      if (Object.keys(body).join(',') !== 'state,name,description') host.violations.push(`status body fields ${Object.keys(body).join(',')}`);
      const state = String(body['state']);
      if (!['pending', 'running', 'success', 'failed', 'canceled'].includes(state)) return jsonResponse(400, { message: 'state is invalid' });
      const previous = [...host.statuses].reverse().find((s) => s['sha'] === m![1] && s['name'] === body['name']);
      if (previous && previous['status'] === state) return jsonResponse(400, { message: `Cannot transition status via :${state === 'success' ? 'succeed' : 'drop'} from :${state}` });
      const stored = { id: nextStatus++, sha: m[1], ref: 'main', status: state, name: body['name'], description: body['description'], target_url: null, allow_failure: false };
      host.statuses.push(stored);
      return jsonResponse(201, stored);
    }
    m = /^merge_requests\/(\d+)\/notes(?:\/(\d+))?$/.exec(rest);
    if (m) {
      const notes = host.comments.get(Number(m[1])) ?? [];
      host.comments.set(Number(m[1]), notes);
      const shape = (c: StoredComment) => ({ id: c.id, body: c.body, author: { id: c.author === opts.username ? 7 : 8, username: c.author }, system: false });
      if (req.method === 'GET' && !m[2]) {
        if (query.get('per_page') !== '100' || query.get('sort') !== 'asc' || query.get('order_by') !== 'created_at') host.violations.push(`notes query ${query.toString()}`);
        return jsonResponse(200, notes.slice(0, 100).map(shape));
      }
      if (req.method === 'POST' && !m[2]) {
        const note = { id: nextId(host, 9000), author: opts.username, body: String(parseBody(req, host)['body']) };
        notes.push(note);
        return jsonResponse(201, shape(note));
      }
      if (req.method === 'PUT' && m[2]) {
        const note = notes.find((c) => c.id === Number(m![2]));
        if (!note) return jsonResponse(404, { message: '404 Not found' });
        if (note.author !== opts.username) return jsonResponse(403, { message: '403 Forbidden' });
        note.body = String(parseBody(req, host)['body']);
        return jsonResponse(200, shape(note));
      }
    }
    host.violations.push(`unexpected ${req.method} ${req.url}`);
    return jsonResponse(404, { error: '404 Not Found' });
  });
}

// ---- Gitea ----------------------------------------------------------------------------------------------------

export function startFakeGitea(opts: { token: string; login: string; owner: string; repo: string; version?: string; tls?: boolean }): Promise<FakeHost> {
  const prefix = `/api/v1/repos/${opts.owner}/${opts.repo}/`;
  let nextStatus = 50;
  return startHost({
    ...(opts.tls !== undefined ? { tls: opts.tls } : {}),
    authorized: (req) => req.headers['authorization'] === `token ${opts.token}`,
    unauthorized: jsonResponse(401, { message: 'token is required', url: 'https://gitea.example.com/api/swagger' }),
  }, (req, path, query, host) => {
    if (req.method !== 'GET' && req.headers['content-type'] !== 'application/json') host.violations.push(`${req.method} ${path}: Content-Type ${req.headers['content-type']}`);
    if (path === '/api/v1/version') return jsonResponse(200, { version: opts.version ?? '1.21.4' });
    if (path === '/api/v1/user') return jsonResponse(200, { id: 3, login: opts.login, username: opts.login });
    if (!path.startsWith(prefix)) return jsonResponse(404, { message: 'The target couldn\'t be found.', errors: [] });
    const rest = path.slice(prefix.length);
    let m = /^commits\/([0-9a-f]{40})\/statuses$/.exec(rest);
    if (m && req.method === 'GET') {
      if (query.toString() !== 'limit=50&page=1') host.violations.push(`statuses query ${query.toString()}`);
      return jsonResponse(200, host.statuses.filter((s) => s['sha'] === m![1]).reverse());
    }
    m = /^statuses\/([0-9a-f]{40})$/.exec(rest);
    if (m && req.method === 'POST') {
      const body = parseBody(req, host);
      if (Object.keys(body).join(',') !== 'state,target_url,description,context') host.violations.push(`status body fields ${Object.keys(body).join(',')}`);
      if (!['pending', 'success', 'error', 'failure', 'warning'].includes(String(body['state']))) return jsonResponse(422, { message: 'invalid state' });
      const stored = { id: nextStatus++, sha: m[1], status: body['state'], target_url: '', description: body['description'], context: body['context'] };
      host.statuses.push(stored);
      return jsonResponse(201, stored);
    }
    const shape = (c: StoredComment) => ({ id: c.id, body: c.body, user: c.author === '' ? null : { id: c.author === opts.login ? 3 : 4, login: c.author } });
    m = /^issues\/(\d+)\/comments$/.exec(rest);
    if (m) {
      const list = host.comments.get(Number(m[1])) ?? [];
      host.comments.set(Number(m[1]), list);
      if (req.method === 'GET') {
        if (query.toString() !== 'limit=100&page=1') host.violations.push(`comments query ${query.toString()}`);
        // Gitea caps pages at MAX_RESPONSE_ITEMS (50 by default).
        return jsonResponse(200, list.slice(0, 50).map(shape));
      }
      if (req.method === 'POST') {
        const c = { id: nextId(host, 300), author: opts.login, body: String(parseBody(req, host)['body']) };
        list.push(c);
        return jsonResponse(201, shape(c));
      }
    }
    m = /^issues\/comments\/(\d+)$/.exec(rest);
    if (m && req.method === 'PATCH') {
      const c = [...host.comments.values()].flat().find((x) => x.id === Number(m![1]));
      if (!c) return jsonResponse(404, { message: 'comment not found' });
      if (c.author !== opts.login) return jsonResponse(403, { message: 'user should be the owner of the comment' });
      c.body = String(parseBody(req, host)['body']);
      return jsonResponse(200, shape(c));
    }
    host.violations.push(`unexpected ${req.method} ${req.url}`);
    return jsonResponse(404, { message: 'not found' });
  });
}

// ---- Bitbucket Cloud ------------------------------------------------------------------------------------------

export function startFakeBitbucketCloud(opts: { user: string; password: string; workspace: string; repo: string; tls?: boolean }): Promise<FakeHost> {
  const basic = `Basic ${Buffer.from(`${opts.user}:${opts.password}`).toString('base64')}`;
  const prefix = `/2.0/repositories/${opts.workspace}/${opts.repo}/commit/`;
  return startHost({
    ...(opts.tls !== undefined ? { tls: opts.tls } : {}),
    authorized: (req) => req.headers['authorization'] === basic,
    unauthorized: { status: 401, headers: { 'Content-Type': 'text/html' }, body: '<html>Unauthorized</html>' },
  }, (req, path, _query, host) => {
    if (!path.startsWith(prefix)) return jsonResponse(404, { type: 'error', error: { message: 'Repository not found' } });
    const rest = path.slice(prefix.length);
    let m = /^([0-9a-f]{40})\/statuses\/build\/([0-9a-f]{40})$/.exec(rest);
    if (m && req.method === 'GET') {
      const found = host.statuses.find((s) => s['commit'] === m![1] && s['key'] === m![2]);
      if (!found) return jsonResponse(404, { type: 'error', error: { message: 'Commit status not found' } });
      return jsonResponse(200, found);
    }
    m = /^([0-9a-f]{40})\/statuses\/build$/.exec(rest);
    if (m && req.method === 'POST') {
      if (req.headers['content-type'] !== 'application/json') host.violations.push(`POST Content-Type ${req.headers['content-type']}`);
      const body = parseBody(req, host);
      if (Object.keys(body).join(',') !== 'key,url,state,name,description') host.violations.push(`status body fields ${Object.keys(body).join(',')}`);
      if (!['SUCCESSFUL', 'FAILED', 'INPROGRESS', 'STOPPED'].includes(String(body['state']))) return jsonResponse(400, { type: 'error', error: { message: 'bad state' } });
      const existing = host.statuses.findIndex((s) => s['commit'] === m![1] && s['key'] === body['key']);
      const stored = { type: 'build', commit: m[1], ...body };
      if (existing >= 0) host.statuses[existing] = stored;
      else host.statuses.push(stored);
      return jsonResponse(existing >= 0 ? 200 : 201, stored);
    }
    host.violations.push(`unexpected ${req.method} ${req.url}`);
    return jsonResponse(404, { type: 'error', error: { message: 'not found' } });
  });
}

// ---- Azure DevOps ---------------------------------------------------------------------------------------------

export function startFakeAzureDevOps(opts: { pat: string; org: string; project: string; repo: string; tls?: boolean }): Promise<FakeHost> {
  const basic = `Basic ${Buffer.from(`:${opts.pat}`).toString('base64')}`;
  const prefix = `/${opts.org}/${opts.project}/_apis/git/repositories/${opts.repo}/commits/`;
  let nextStatus = 1;
  return startHost({
    ...(opts.tls !== undefined ? { tls: opts.tls } : {}),
    authorized: (req) => req.headers['authorization'] === basic,
    // Azure DevOps answers a bad PAT with a sign-in page.
    unauthorized: { status: 401, headers: { 'Content-Type': 'text/html; charset=utf-8' }, body: '<!DOCTYPE html><html>Sign in</html>' },
  }, (req, path, _query, host) => {
    if (req.headers['accept'] !== 'application/json;api-version=6.0') host.violations.push(`Accept ${req.headers['accept']}`);
    if (req.headers['x-tfs-fedauthredirect'] !== 'Suppress') host.violations.push('missing X-TFS-FedAuthRedirect: Suppress');
    const m = /^([0-9a-f]{40})\/statuses$/.exec(path.startsWith(prefix) ? path.slice(prefix.length) : '');
    if (!m) {
      return { status: 404, headers: { 'Content-Type': 'application/json; charset=utf-8' }, body: JSON.stringify({ $id: '1', message: `TF401019: The Git repository with name or identifier ${opts.repo} does not exist or you do not have permissions for the operation you are attempting.`, typeKey: 'GitRepositoryNotFoundException' }) };
    }
    const json = { 'Content-Type': 'application/json; charset=utf-8' };
    if (req.method === 'GET') {
      const value = host.statuses.filter((s) => s['commit'] === m[1]).reverse().map(({ commit: _c, ...s }) => s);
      return { status: 200, headers: json, body: JSON.stringify({ count: value.length, value }) };
    }
    if (req.method === 'POST') {
      if (req.headers['content-type'] !== 'application/json;charset=utf-8') host.violations.push(`POST Content-Type ${req.headers['content-type']}`);
      const body = parseBody(req, host);
      if (!['succeeded', 'failed', 'error', 'pending', 'notSet', 'notApplicable'].includes(String(body['state']))) {
        return { status: 400, headers: json, body: JSON.stringify({ message: 'Value cannot be null.\r\nParameter name: state' }) };
      }
      const stored = { id: nextStatus++, commit: m[1], state: body['state'], description: body['description'], context: body['context'], creationDate: new Date().toISOString() };
      host.statuses.push(stored);
      return { status: 201, headers: json, body: JSON.stringify(stored) };
    }
    host.violations.push(`unexpected ${req.method} ${req.url}`);
    return { status: 405, headers: json, body: '{"message":"method not allowed"}' };
  });
}
