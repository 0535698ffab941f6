// sentry against a real local endpoint: the envelope's three lines (envelope header, item header, payload) compared with
// the spec's canonical error event and transaction, X-Sentry-Auth, DSN parsing and its errors, skips, failures, masking.
import { hostname } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import type { FluxEvent } from '../../../src/api/event.js';
import type { ProviderSpec } from '../../../src/api/provider.js';
import type { Secret } from '../../../src/api/secret.js';
import { parseSentryDsn, sentryItem, transactionTags } from '../../../src/providers/incident/sentry.js';
import { maskError } from '../../../src/providers/masking.js';
import { ConfigError } from '../../../src/providers/types.js';
import { closeAfterEach } from '../../helpers/cleanup.js';
import { docExample } from '../../helpers/doc-example.js';
import { fixtureJson } from '../../helpers/fixtures.js';
import {
  canonicalEvent, deliverOnce, deliveryFailure, parseProvider, providerObject, secretObject, settingsFor, testRuntime,
} from '../../helpers/providers.js';
import { startRecordingServer, type RecordedRequest, type ScriptedResponse } from '../../helpers/recording-server.js';

const track = closeAfterEach();
const runtime = testRuntime();

interface Envelope {
  header: Record<string, unknown>;
  item: { type: string; length: number | string };
  payload: Record<string, unknown>;
}
interface SentryVectors {
  error: { envelope: Envelope }[];
  info: { envelope: Envelope }[];
}
const vectors = fixtureJson<SentryVectors>('providers/sentry.json');

/** The envelope's lines, each parsed; the body must be exactly three `\n`-terminated lines. */
function envelopeOf(req: RecordedRequest): Envelope & { payloadBytes: number } {
  expect(req.text.endsWith('\n')).toBe(true);
  const lines = req.text.slice(0, -1).split('\n');
  expect(lines).toHaveLength(3);
  return {
    header: JSON.parse(lines[0]!) as Record<string, unknown>,
    item: JSON.parse(lines[1]!) as Envelope['item'],
    payload: JSON.parse(lines[2]!) as Record<string, unknown>,
    payloadBytes: Buffer.byteLength(lines[2]!),
  };
}

const dsnFor = (url: string, keys = 'abc123') => `${url.replace('://', `://${keys}@`)}/4506`;

async function endpoint(respond?: (r: RecordedRequest, n: number) => ScriptedResponse) {
  return track(await startRecordingServer(respond ? { respond } : {}));
}

function objects(spec: Partial<ProviderSpec>, secret?: Record<string, string>) {
  const secrets: Secret[] = secret ? [secretObject('sentry-dsn', secret)] : [];
  return { p: providerObject('sentry', secret ? { ...spec, secretRef: { name: 'sentry-dsn' } } : spec), secrets };
}

async function send(spec: Partial<ProviderSpec>, secret?: Record<string, string>, event: FluxEvent = canonicalEvent()) {
  const { p, secrets } = objects(spec, secret);
  return deliverOnce(runtime, p, secrets, event);
}

function parseError(spec: Partial<ProviderSpec>, secret?: Record<string, string>): ConfigError {
  const { p, secrets } = objects(spec, secret);
  try {
    parseProvider(runtime, p, secrets);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

const savedEnv = process.env['SENTRY_ENVIRONMENT'];
afterEach(() => {
  if (savedEnv === undefined) delete process.env['SENTRY_ENVIRONMENT'];
  else process.env['SENTRY_ENVIRONMENT'] = savedEnv;
});

describe('sentry: the envelope (spec Request, canonical example)', () => {
  for (const severity of ['error', 'info'] as const) {
    it(`sends the spec's ${severity === 'error' ? 'error event' : 'transaction'} for the canonical ${severity} event`, async () => {
      const srv = await endpoint();
      const dsn = dsnFor(srv.url);
      const before = Date.now();
      await send({ channel: 'production' }, { address: dsn }, canonicalEvent(severity));
      const [req] = await srv.waitFor(1);
      expect(`${req!.method} ${req!.url}`).toBe('POST /api/4506/envelope/');
      expect(req!.headers['content-type']).toBe('application/x-sentry-envelope');
      expect(req!.headers['x-sentry-auth']).toBe('Sentry sentry_version=7, sentry_client=herald.sentry/1.0.0, sentry_key=abc123');
      expect(req!.headers['user-agent']).toBe('herald.sentry/1.0.0');
      const got = envelopeOf(req!);
      const want = structuredClone(vectors[severity][0]!.envelope);

      // Generated values: one event id in both headers and the payload, the send time, the payload's byte length.
      const eventId = got.header['event_id'] as string;
      expect(eventId).toMatch(/^[0-9a-f]{32}$/);
      expect(got.payload['event_id']).toBe(eventId);
      const sentAt = Date.parse(got.header['sent_at'] as string);
      expect(sentAt >= before - 1000 && sentAt <= Date.now()).toBe(true);
      expect(got.item.length).toBe(got.payloadBytes);
      want.header['event_id'] = eventId;
      want.header['sent_at'] = got.header['sent_at'];
      want.header['dsn'] = dsn;
      want.item.length = got.payloadBytes;
      want.payload['event_id'] = eventId;
      if (severity === 'info') {
        const trace = (got.payload['contexts'] as { trace: { trace_id: string; span_id: string } }).trace;
        expect(trace.trace_id).toMatch(/^[0-9a-f]{32}$/);
        expect(trace.span_id).toMatch(/^[0-9a-f]{16}$/);
        const wantTrace = (want.payload['contexts'] as { trace: Record<string, string> }).trace;
        Object.assign(wantTrace, { trace_id: trace.trace_id, span_id: trace.span_id });
        Object.assign((want.payload['spans'] as Record<string, string>[])[0]!, { trace_id: trace.trace_id, span_id: trace.span_id });
        want.payload['server_name'] = hostname();
      }
      expect(got.header).toEqual(want.header);
      expect(got.item).toEqual(want.item);
      expect(got.payload).toEqual(want.payload);
    });
  }

  it('gives every notification a new event id and every transaction new trace and span ids', async () => {
    const srv = await endpoint();
    await send({}, { address: dsnFor(srv.url) }, canonicalEvent('info'));
    await send({}, { address: dsnFor(srv.url) }, canonicalEvent('info'));
    const [a, b] = (await srv.waitFor(2)).map(envelopeOf);
    expect(a!.header['event_id']).not.toBe(b!.header['event_id']);
    const trace = (e: Envelope) => (e.payload['contexts'] as { trace: Record<string, string> }).trace;
    expect(trace(a!)['trace_id']).not.toBe(trace(b!)['trace_id']);
    expect(trace(a!)['span_id']).not.toBe(trace(b!)['span_id']);
  });

  it('adds sentry_secret for a legacy DSN with a secret key', async () => {
    const srv = await endpoint();
    await send({}, { address: dsnFor(srv.url, 'pub42:0123456789abcdef0123') });
    const [req] = await srv.waitFor(1);
    expect(req!.headers['x-sentry-auth']).toBe('Sentry sentry_version=7, sentry_client=herald.sentry/1.0.0, sentry_key=pub42, sentry_secret=0123456789abcdef0123');
  });

  it('takes the environment from spec.channel, else SENTRY_ENVIRONMENT, else sends none', async () => {
    const srv = await endpoint();
    process.env['SENTRY_ENVIRONMENT'] = 'from-env';
    await send({ channel: 'staging' }, { address: dsnFor(srv.url) });
    await send({}, { address: dsnFor(srv.url) });
    delete process.env['SENTRY_ENVIRONMENT'];
    await send({}, { address: dsnFor(srv.url) });
    const envs = (await srv.waitFor(3)).map((r) => envelopeOf(r).payload['environment']);
    expect(envs).toEqual(['staging', 'from-env', undefined]);
  });

  it('reads the DSN from spec.address too, and keeps a path prefix before /api/', async () => {
    const srv = await endpoint();
    await send({ address: `${srv.url.replace('://', '://k@')}/sentry/relay/77` });
    const [req] = await srv.waitFor(1);
    expect(req!.url).toBe('/sentry/relay/api/77/envelope/');
    expect(envelopeOf(req!).header['dsn']).toBe(`${srv.url.replace('://', '://k@')}/sentry/relay/77`);
  });

  it('sends nothing for a severity other than info and error', async () => {
    const srv = await endpoint();
    const e = canonicalEvent('error');
    e.severity = 'trace';
    await send({}, { address: dsnFor(srv.url) }, e);
    await new Promise((r) => setTimeout(r, 100));
    expect(srv.requests).toHaveLength(0);
  });

  it('sends empty metadata as an empty metadata context', async () => {
    const srv = await endpoint();
    const e = canonicalEvent('error');
    e.metadata = {};
    await send({}, { address: dsnFor(srv.url) }, e);
    const [req] = await srv.waitFor(1);
    expect(envelopeOf(req!).payload['contexts']).toEqual({ metadata: {} });
  });
});

describe('sentry: upstream test vectors 3 and 4 (mapping of the GitRepository event)', () => {
  const event = (): FluxEvent => ({
    involvedObject: { kind: 'GitRepository', namespace: 'flux-system', name: 'test-app' },
    severity: 'error',
    timestamp: '2020-01-01T00:00:00Z',
    message: 'message',
    reason: '',
    metadata: { key1: 'val1', key2: 'val2' },
    reportingController: 'source-controller',
  });
  const config = { dsn: parseSentryDsn('https://test@localhost/1'), environment: 'foo', serverName: 'herald-0' };

  it('maps an error event', () => {
    const item = sentryItem(event(), config, 'e'.repeat(32));
    expect(item?.type).toBe('event');
    expect(item?.payload).toMatchObject({
      timestamp: '2020-01-01T00:00:00Z', level: 'error', server_name: 'source-controller',
      transaction: 'GitRepository: flux-system/test-app', contexts: { metadata: { key1: 'val1', key2: 'val2' } }, message: 'message',
      environment: 'foo',
    });
  });

  it('maps a transaction with empty reason and reporting instance as empty tags', () => {
    const e = { ...event(), severity: 'info' };
    const item = sentryItem(e, config, 'e'.repeat(32));
    expect(item?.type).toBe('transaction');
    expect(item?.payload).toMatchObject({ type: 'transaction', timestamp: '2020-01-01T00:00:00Z', message: 'message' });
    expect(item?.payload['tags']).toEqual({
      flux_involved_object_kind: 'GitRepository', flux_involved_object_name: 'test-app', flux_involved_object_namespace: 'flux-system',
      flux_reason: '', flux_reporting_controller: 'source-controller', flux_reporting_instance: '', key1: 'val1', key2: 'val2',
    });
  });

  it('lets a metadata key overwrite a flux_ tag', () => {
    const e = { ...event(), metadata: { flux_reason: 'custom' } };
    expect(transactionTags(e)['flux_reason']).toBe('custom');
  });
});

describe('sentry: DSN (spec Configuration, Validation, Target)', () => {
  it.each([
    ['https://abc123@o42.ingest.sentry.io/4506', 'https://o42.ingest.sentry.io/api/4506/envelope/'],
    ['https://abc123@o42.ingest.sentry.io:443/4506', 'https://o42.ingest.sentry.io/api/4506/envelope/'],
    ['http://abc123@sentry.local:80/7', 'http://sentry.local/api/7/envelope/'],
    ['http://abc123@sentry.local:9000/7', 'http://sentry.local:9000/api/7/envelope/'],
    ['https://abc123@sentry.local:80/7', 'https://sentry.local:80/api/7/envelope/'],
    ['https://abc123@sentry.local/prefix/path/7', 'https://sentry.local/prefix/path/api/7/envelope/'],
    ['http://abc123@[::1]:9000/7', 'http://[::1]:9000/api/7/envelope/'],
  ])('%s -> %s', (dsn, endpoint) => {
    expect(parseSentryDsn(dsn).endpoint).toBe(endpoint);
  });

  it.each([
    ['', 'DSN cannot be empty'],
    ['ftp://abc123@sentry.local/7', '[Sentry] DsnParseError: invalid scheme'],
    ['https://sentry.local/7', '[Sentry] DsnParseError: empty username'],
    ['https://:secret@sentry.local/7', '[Sentry] DsnParseError: empty username'],
    ['https://abc123@/7', '[Sentry] DsnParseError: empty host'],
    ['https://abc123@sentry.local', '[Sentry] DsnParseError: empty project id'],
    ['https://abc123@sentry.local/7/', '[Sentry] DsnParseError: empty project id'],
  ])('%j fails with %s', (dsn, message) => {
    expect(() => parseSentryDsn(dsn)).toThrow(message);
  });

  it('reports an unparseable DSN with Go\'s parse error and without its secret key', () => {
    let message = '';
    try {
      parseSentryDsn('https://pub:verysecretkey@sen try.local/7');
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/^\[Sentry\] DsnParseError: invalid url: parse "https:\/\/pub:xxxxx@sen try\.local\/7": /);
    expect(message).not.toContain('verysecretkey');
  });

  it('names the Provider and where the DSN came from in the ConfigError', () => {
    expect(parseError({}).message).toBe('provider apps/ops: spec.address: DSN cannot be empty');
    expect(parseError({}, { address: 'ftp://k@h/1' }).message).toBe("provider apps/ops: secret apps/sentry-dsn key 'address': [Sentry] DsnParseError: invalid scheme");
  });

  it('does not use proxySecretRef (the spec applies no proxy)', async () => {
    const srv = await endpoint();
    const { p, secrets } = objects({ proxySecretRef: { name: 'px' } }, { address: dsnFor(srv.url) });
    // An unreachable proxy: the delivery only succeeds because it is not used.
    await deliverOnce(runtime, p, [...secrets, secretObject('px', { address: 'http://127.0.0.1:9' })]);
    expect(srv.requests).toHaveLength(1);
  });
});

describe('sentry: failures are failed deliveries (Flux reports success)', () => {
  it('classifies the answer and keeps the DSN and its secret key out of the error even when the endpoint echoes them', async () => {
    const srv = await endpoint((r) => ({ status: 429, headers: { 'Retry-After': '3' }, body: `echo ${JSON.stringify(r.headers)} ${r.text}` }));
    const dsn = dsnFor(srv.url, 'pub42:verysecretkey');
    // In spec.address the whole DSN is not a Secret value: the provider itself must hide its secret key.
    const err = await deliveryFailure(send({ address: dsn }));
    expect([err.retryable, err.reason, err.retryAfterMs]).toEqual([true, 'rate-limited', 3000]);
    expect(err.message).toMatch(/^failed to send Sentry envelope: request failed with status code 429: echo /);
    expect(err.message).not.toContain('verysecretkey');
    expect(err.message).not.toContain(dsn);
    expect(err.cause).toBeUndefined();
  });

  it('masks a Secret DSN in the error of the worker', async () => {
    const srv = await endpoint((r) => ({ status: 400, body: r.text }));
    const { p, secrets } = objects({}, { address: dsnFor(srv.url) });
    const err = await deliveryFailure(deliverOnce(runtime, p, secrets));
    expect(maskError(err.message, settingsFor(p, secrets))).not.toContain(dsnFor(srv.url));
  });

  it('fails retryably when Sentry is unreachable', async () => {
    const srv = await endpoint();
    const url = srv.url;
    await srv.close();
    const err = await deliveryFailure(send({}, { address: dsnFor(url) }));
    expect(err.retryable).toBe(true);
    expect(err.message).toMatch(/^failed to send Sentry envelope: Post "http:\/\/127\.0\.0\.1:\d+\/api\/4506\/envelope\/": /);
  });
});

describe('sentry: docs/providers/sentry.md', () => {
  it('has a working example: the Provider and Secret parse, and the envelope goes to the DSN project', async () => {
    const { provider: p, secrets, problems } = docExample('sentry');
    expect(problems).toEqual([]);
    const { config } = parseProvider(runtime, p, secrets) as { config: { config: { dsn: { endpoint: string }; environment: string } } };
    expect(config.config.dsn.endpoint).toBe('https://o42.ingest.sentry.io/api/4506/envelope/');
    expect(config.config.environment).toBe('production');
    // The same Provider, its DSN pointed at a local endpoint.
    const srv = await endpoint();
    const local = secrets.map((s) => ({ ...s, data: { ...s.data, address: Buffer.from(dsnFor(srv.url)) } }));
    await deliverOnce(runtime, p, local, canonicalEvent('error'));
    expect((await srv.waitFor(1))[0]!.url).toBe('/api/4506/envelope/');
  });
});
