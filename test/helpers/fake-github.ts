// A local HTTPS server that behaves like the GitHub REST API (Enterprise layout, /api/v3/) for the GitHub provider tests:
// commit statuses, repository dispatches, issue comments, the authenticated user and the GitHub App token exchange
// (the JWT is verified: RS256 with the App's public key, iss, iat, exp).
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { startRecordingServer, type RecordedRequest, type RecordingServer, type ScriptedResponse } from './recording-server.js';
import { makeTestPki, type TestPki } from './tls.js';

export interface FakeStatus {
  state: string;
  description: string;
  context: string;
}

export interface FakeComment {
  id: number;
  body: string;
  user: { login: string };
}

export interface FakeApp {
  id: number;
  slug: string;
  /** The public half of the App's key: JWTs are verified with it. */
  publicKey: KeyObject;
  /** Installations by id, and the account that owns each. */
  installations: Record<number, { owner: string; kind: 'orgs' | 'users' }>;
  /** Lifetime of an installation token in ms (GitHub's is an hour). */
  tokenLifetimeMs: number;
}

export interface FakeGitHubOptions {
  /** Personal access tokens and the login of their user. */
  tokens?: Record<string, string>;
  app?: Omit<FakeApp, 'publicKey'> & { publicKey: KeyObject | string };
  /** Without TLS the server speaks plain HTTP. */
  tls?: boolean;
}

export interface FakeGitHub {
  url: string;
  pki: TestPki;
  server: RecordingServer;
  /** Statuses by commit, newest first (as GitHub lists them). */
  statuses: Map<string, FakeStatus[]>;
  /** Comments by issue number, oldest first. */
  comments: Map<number, FakeComment[]>;
  dispatches: { raw: string; body: Record<string, unknown> }[];
  /** Installation tokens issued, in order. */
  issued: { token: string; installation: number; expiresAt: string }[];
  /** Requests the fake refused as malformed (wrong header, bad JWT): a test expects this to stay empty. */
  violations: string[];
  /** Answer the next API requests (not the App's) with these before behaving normally. */
  failNext: ScriptedResponse[];
  close(): Promise<void>;
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}): ScriptedResponse => ({
  status, headers: { 'Content-Type': 'application/json; charset=utf-8', ...headers }, body: JSON.stringify(body),
});
const notFound = () => json(404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' });
const badCredentials = () => json(401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' });

export async function startFakeGitHub(opts: FakeGitHubOptions = {}): Promise<FakeGitHub> {
  const pki = makeTestPki();
  const tokens = new Map(Object.entries(opts.tokens ?? {}));
  const app = opts.app ? { ...opts.app, publicKey: typeof opts.app.publicKey === 'string' ? createPublicKey(opts.app.publicKey) : opts.app.publicKey } : undefined;
  const statuses = new Map<string, FakeStatus[]>();
  const comments = new Map<number, FakeComment[]>();
  const dispatches: FakeGitHub['dispatches'] = [];
  const issued: FakeGitHub['issued'] = [];
  const violations: string[] = [];
  const failNext: ScriptedResponse[] = [];
  /** Installation tokens: value → expiry (ms) and the bot login. */
  const installationTokens = new Map<string, { expires: number; login: string }>();
  let nextComment = 1000;

  function checkJwt(req: RecordedRequest): boolean {
    const m = /^Bearer ([^.]+)\.([^.]+)\.([^.]+)$/.exec(req.headers['authorization'] ?? '');
    if (!m || !app) return false;
    const [, h, c, s] = m as unknown as [string, string, string, string];
    const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as Record<string, unknown>;
    const claims = JSON.parse(Buffer.from(c, 'base64url').toString()) as { iss?: unknown; iat?: unknown; exp?: unknown };
    const now = Math.floor(Date.now() / 1000);
    const problems: string[] = [];
    if (header['alg'] !== 'RS256' || header['typ'] !== 'JWT') problems.push(`JWT header ${JSON.stringify(header)}`);
    if (!verify('sha256', Buffer.from(`${h}.${c}`), app.publicKey, Buffer.from(s, 'base64url'))) problems.push('JWT signature does not verify');
    if (claims.iss !== String(app.id)) problems.push(`JWT iss ${JSON.stringify(claims.iss)}`);
    if (typeof claims.iat !== 'number' || claims.iat > now) problems.push(`JWT iat ${String(claims.iat)} is in the future`);
    if (typeof claims.exp !== 'number' || claims.exp <= now || claims.exp - (claims.iat as number) > 600) problems.push(`JWT exp ${String(claims.exp)}`);
    if (req.headers['user-agent'] !== 'go-github/v82.0.0') problems.push(`App call User-Agent ${req.headers['user-agent']}`);
    if (problems.length > 0) violations.push(`${req.method} ${req.url}: ${problems.join('; ')}`);
    return problems.length === 0;
  }

  function appRoute(req: RecordedRequest, path: string): ScriptedResponse | undefined {
    if (!app) return undefined;
    if (req.method === 'GET' && path === 'app') return checkJwt(req) ? json(200, { id: app.id, slug: app.slug, name: app.slug }) : badCredentials();
    const inst = /^(orgs|users)\/([^/]+)\/installation$/.exec(path);
    if (req.method === 'GET' && inst) {
      if (!checkJwt(req)) return badCredentials();
      const found = Object.entries(app.installations).find(([, v]) => v.kind === inst[1] && v.owner === inst[2]);
      return found ? json(200, { id: Number(found[0]), account: { login: inst[2] } }) : notFound();
    }
    const tok = /^app\/installations\/(\d+)\/access_tokens$/.exec(path);
    if (req.method === 'POST' && tok) {
      if (!checkJwt(req)) return badCredentials();
      if (req.text !== 'null\n' || req.headers['content-type'] !== 'application/json') violations.push(`token request body ${JSON.stringify(req.text)}`);
      const id = Number(tok[1]);
      if (!app.installations[id]) return notFound();
      const token = `ghs_installation${issued.length + 1}x${id}`;
      const expires = Date.now() + app.tokenLifetimeMs;
      const expiresAt = new Date(expires).toISOString().replace(/\.\d{3}Z$/, 'Z');
      installationTokens.set(token, { expires, login: `${app.slug}[bot]` });
      issued.push({ token, installation: id, expiresAt });
      return json(201, { token, expires_at: expiresAt, permissions: { statuses: 'write' }, repository_selection: 'all' });
    }
    return undefined;
  }

  /** The login behind the request's token, or undefined (expired installation tokens included). */
  function login(req: RecordedRequest): string | undefined {
    const m = /^Bearer (.+)$/.exec(req.headers['authorization'] ?? '');
    if (!m) return undefined;
    const pat = tokens.get(m[1]!);
    if (pat !== undefined) return pat;
    const inst = installationTokens.get(m[1]!);
    return inst && inst.expires > Date.now() ? inst.login : undefined;
  }

  function route(req: RecordedRequest): ScriptedResponse {
    const url = new URL(req.url, 'http://x');
    if (!url.pathname.startsWith('/api/v3/')) return notFound();
    const path = url.pathname.slice('/api/v3/'.length);
    const a = appRoute(req, path);
    if (a) return a;
    if (req.headers['x-github-api-version'] !== '2022-11-28' || req.headers['user-agent'] !== 'go-github/v64.0.0') {
      violations.push(`${req.method} ${req.url}: headers ${JSON.stringify(req.headers)}`);
    }
    const forced = failNext.shift();
    if (forced) return forced;
    const who = login(req);
    if (who === undefined) return badCredentials();
    if (req.method === 'GET' && path === 'user') return json(200, { login: who, id: 1 });
    let m = /^repos\/([^/]+)\/([^/]+)\/(.*)$/.exec(path);
    if (!m) return notFound();
    const rest = m[3]!;
    if ((m = /^commits\/([^/]+)\/statuses$/.exec(rest)) && req.method === 'GET') {
      if (url.searchParams.get('per_page') !== '50') violations.push(`list statuses query ${url.search}`);
      return json(200, (statuses.get(m[1]!) ?? []).slice(0, 50).map((s, i) => ({ id: i + 1, ...s, creator: { login: who } })));
    }
    if ((m = /^statuses\/([^/]+)$/.exec(rest)) && req.method === 'POST') {
      const body = JSON.parse(req.text) as FakeStatus;
      if (!['success', 'failure', 'error', 'pending'].includes(body.state)) return json(422, { message: 'Validation Failed', errors: [{ resource: 'Status', field: 'state', code: 'invalid' }] });
      const list = statuses.get(m[1]!) ?? [];
      list.unshift({ state: body.state, description: body.description, context: body.context });
      statuses.set(m[1]!, list);
      return json(201, { id: list.length, ...body });
    }
    if (rest === 'dispatches' && req.method === 'POST') {
      dispatches.push({ raw: req.text, body: JSON.parse(req.text) as Record<string, unknown> });
      return { status: 204 };
    }
    if ((m = /^issues\/(\d+)\/comments$/.exec(rest))) {
      const n = Number(m[1]);
      const list = comments.get(n) ?? [];
      if (req.method === 'GET') {
        if (req.headers['accept'] !== 'application/vnd.github.squirrel-girl-preview') violations.push(`list comments Accept ${req.headers['accept']}`);
        return json(200, list.slice(0, 100));
      }
      if (req.method === 'POST') {
        const c = { id: nextComment++, body: (JSON.parse(req.text) as { body: string }).body, user: { login: who } };
        list.push(c);
        comments.set(n, list);
        return json(201, c);
      }
    }
    if ((m = /^issues\/comments\/(\d+)$/.exec(rest)) && req.method === 'PATCH') {
      const id = Number(m[1]);
      for (const list of comments.values()) {
        const c = list.find((x) => x.id === id);
        if (!c) continue;
        if (c.user.login !== who) return json(403, { message: 'Must have admin rights to Repository.' });
        c.body = (JSON.parse(req.text) as { body: string }).body;
        return json(200, c);
      }
      return notFound();
    }
    return notFound();
  }

  const server = await startRecordingServer({
    ...(opts.tls === false ? {} : { tls: { key: pki.serverKey, cert: pki.serverCert } }),
    respond: route,
  });
  return {
    url: server.url.replace('127.0.0.1', 'localhost'),
    pki, server, statuses, comments, dispatches, issued, violations, failNext,
    close: () => server.close(),
  };
}
