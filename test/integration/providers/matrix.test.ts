// matrix against a real local homeserver stand-in: PUT, the deterministic transaction id, the text, Bearer, errors.
import { describe, expect, it } from 'vitest';
import { encodeEvent, type FluxEvent } from '../../../src/api/event.js';
import { matrixText, matrixTxnId } from '../../../src/providers/chat/matrix.js';
import { configErrorOf, proxyUses, upstreamChatEvent } from '../../helpers/chat.js';
import { closeAfterEach } from '../../helpers/cleanup.js';
import { CANONICAL_BODY, canonicalEvent, deliverOnce, deliveryFailure, providerObject, secretObject, testRuntime } from '../../helpers/providers.js';
import { startRecordingServer, type ScriptedResponse } from '../../helpers/recording-server.js';

const track = closeAfterEach();
const runtime = testRuntime();
const ROOM = '!abcdef:example.org';

async function homeserver(reply: ScriptedResponse = { status: 200, body: '{"event_id":"$e"}' }, suffix = '') {
  const srv = track(await startRecordingServer({ respond: () => reply }));
  const p = providerObject('matrix', { address: `${srv.url}${suffix}`, channel: ROOM, secretRef: { name: 'mx' } });
  return { srv, p, secrets: [secretObject('mx', { token: 'syt_abc' })] };
}

describe('matrix: transaction id', () => {
  it("is the SHA-1 of the event as Flux serialises it (spec vectors: canonical, its info variant, upstream's)", () => {
    expect(matrixTxnId(canonicalEvent('error'))).toBe('07ed4b524afb73cf3e9e71ea46531d582f56ca67');
    expect(matrixTxnId(canonicalEvent('info'))).toBe('1190f629f98c1d6e58a4f0877d2855a93c39cb02');
    // {"involvedObject":{},"severity":"info",...}: an empty object reference, which the event server never decodes.
    const upstream: FluxEvent = {
      involvedObject: { kind: '', namespace: '', name: '' }, severity: 'info', timestamp: '2021-08-24T16:18:00Z',
      message: 'update successful', reason: 'update sucesful', metadata: {}, reportingController: '',
    };
    expect(encodeEvent(upstream)).toBe('{"involvedObject":{},"severity":"info","timestamp":"2021-08-24T16:18:00Z","message":"update successful","reason":"update sucesful","reportingController":""}');
    expect(matrixTxnId(upstream)).toBe('37d91b4f6a1e44c6a38273b0a0fd408fade7b0f5');
    expect(CANONICAL_BODY).toHaveLength(552);
  });

  it('is the same for a re-sent identical event, so the homeserver stores it once', async () => {
    const { srv, p, secrets } = await homeserver();
    await deliverOnce(runtime, p, secrets, canonicalEvent());
    await deliverOnce(runtime, p, secrets, canonicalEvent());
    const other = canonicalEvent();
    other.message = 'Health check failed after 3m';
    await deliverOnce(runtime, p, secrets, other);
    const [a, b, c] = srv.requests.map((r) => r.url);
    expect(a).toBe(b);
    expect(c).not.toBe(a);
  });
});

describe('matrix: the request', () => {
  it('PUTs the canonical body byte for byte with Bearer auth to the room', async () => {
    const { srv, p, secrets } = await homeserver();
    await deliverOnce(runtime, p, secrets, canonicalEvent('error'));
    const [req] = srv.requests;
    expect(`${req!.method} ${req!.url}`).toBe(`PUT /_matrix/client/r0/rooms/${ROOM}/send/m.room.message/07ed4b524afb73cf3e9e71ea46531d582f56ca67`);
    expect(req!.headers['authorization']).toBe('Bearer syt_abc');
    expect(req!.headers['content-type']).toBe('application/json');
    expect(req!.text).toBe('{"body":"🚨 kustomization/webapp.apps\\nHealth check failed after 2m\\n- cluster: prod-eu\\n'
      + '- revision: main@sha1:9f1c2e3d4b5a69788796a5b4c3d2e1f001234567\\n- summary: Production cluster\\n","msgtype":"m.text"}');
  });

  it('marks info with 💫; without metadata the text ends after the message', async () => {
    const { srv, p, secrets } = await homeserver();
    await deliverOnce(runtime, p, secrets, upstreamChatEvent({}));
    expect(JSON.parse(srv.requests[0]!.text)).toEqual({ body: '💫 gitrepository/webapp.gitops-system\nmessage\n', msgtype: 'm.text' });
    expect(matrixText(upstreamChatEvent({ b: '2', a: '1' }, 'error'))).toBe('🚨 gitrepository/webapp.gitops-system\nmessage\n- a: 1\n- b: 2\n');
  });

  it('concatenates the address as Flux does: a trailing slash gives //, a base path is kept', async () => {
    const { srv, p, secrets } = await homeserver(undefined, '/base/');
    await deliverOnce(runtime, p, secrets, canonicalEvent());
    expect(srv.requests[0]!.url).toBe(`/base//_matrix/client/r0/rooms/${ROOM}/send/m.room.message/07ed4b524afb73cf3e9e71ea46531d582f56ca67`);
  });

  it('does not apply the Provider proxy, as Flux', async () => {
    const { srv, p, secrets } = await homeserver();
    expect(await proxyUses(runtime, p, secrets)).toBe(0);
    expect(srv.requests).toHaveLength(1);
  });

  it('reports a refusal with the postMessage prefix and without the token', async () => {
    const { p, secrets } = await homeserver({ status: 403, body: '{"errcode":"M_FORBIDDEN","error":"User not in room"}' });
    const err = await deliveryFailure(deliverOnce(runtime, p, secrets, canonicalEvent()));
    expect(err.message).toBe('postMessage failed: request failed with status code 403: {"errcode":"M_FORBIDDEN","error":"User not in room"}');
    expect([err.retryable, err.reason]).toEqual([false, 'auth']);
  });
});

describe('matrix: configuration errors', () => {
  const p = (spec: object) => providerObject('matrix', { address: 'https://matrix.example.org', channel: ROOM, secretRef: { name: 'mx' }, ...spec });
  const s = [secretObject('mx', { token: 'syt_abc' })];

  it("refuses an address that is not a request URI with Flux's text", () => {
    expect(configErrorOf(runtime, p({ address: 'matrix.example.org' }), s))
      .toBe(`provider apps/ops: spec.address: invalid Matrix homeserver URL matrix.example.org: 'parse "matrix.example.org": invalid URI for request'`);
  });

  it('refuses an empty room, a room alias, an empty or multi-line token, naming the Secret key', () => {
    expect(configErrorOf(runtime, p({ channel: '' }), s)).toBe('provider apps/ops: empty Matrix room (set spec.channel to the room ID, !<id>:<server>)');
    expect(configErrorOf(runtime, p({ channel: '#ops:example.org' }), s)).toContain('spec.channel #ops:example.org is a room alias');
    expect(configErrorOf(runtime, p({}), [secretObject('mx', { address: 'https://matrix.example.org' })]))
      .toBe("provider apps/ops: empty Matrix access token (secret apps/mx has no 'token' (or it is empty))");
    const multiLine = configErrorOf(runtime, p({}), [secretObject('mx', { token: 'syt_abc\n' })]);
    expect(multiLine).toBe("provider apps/ops: secret apps/mx key 'token' contains a line break, which cannot be sent in the Authorization header");
  });
});
