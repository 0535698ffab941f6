// The chat family's shared pieces: Go-compatible JSON for payloads, the webhook parts masked, the address check.
import { describe, expect, it } from 'vitest';
import { webhookSecrets, checkAddress } from '../../../src/providers/chat/address.js';
import { goJson } from '../../../src/go/json.js';
import { slackMessage } from '../../../src/providers/chat/slack-attachment.js';
import { SLACK_COLOURS } from '../../../src/providers/chat/colours.js';
import { ConfigError } from '../../../src/providers/types.js';
import { canonicalEvent, providerObject, secretObject, settingsFor } from '../../helpers/providers.js';

describe('goJson', () => {
  it('writes fields in order without whitespace and escapes as Go: <>&, U+2028/2029, lone surrogates as U+FFFD', () => {
    expect(goJson({ b: 'a<b>&c', a: ['\u2028\u2029'], n: null, t: true, x: 1 })).toBe('{"b":"a\\u003cb\\u003e\\u0026c","a":["\\u2028\\u2029"],"n":null,"t":true,"x":1}');
    expect(goJson({ s: 'x\ud800y' })).toBe('{"s":"x\ufffdy"}');
    expect(goJson({ s: 'tab\t"q" é 💣' })).toBe('{"s":"tab\\t\\"q\\" é 💣"}');
  });
});

describe('slackMessage', () => {
  it('takes the fallback from the first line only and omits text', () => {
    const body = JSON.parse(slackMessage({ ...canonicalEvent(), message: 'one\ntwo\nthree' }, { channel: '', username: 'u', fallback: true, colours: SLACK_COLOURS }));
    expect(body.attachments[0].fallback).toBe('kustomization/webapp.apps: one');
    expect(Object.keys(body)).toEqual(['channel', 'username', 'icon_url', 'icon_emoji', 'attachments']);
  });
});

describe('webhookSecrets', () => {
  it('masks the path with its query and the longer query values, never the host', () => {
    expect(webhookSecrets('https://hooks.slack.com/services/T0/B0/XYZ')).toEqual(['/services/T0/B0/XYZ']);
    expect(webhookSecrets('https://chat.googleapis.com/v1/spaces/A/messages?key=AIzaSyABCDEFG&token=tok3n-abcdef')).toEqual([
      '/v1/spaces/A/messages?key=AIzaSyABCDEFG&token=tok3n-abcdef', 'AIzaSyABCDEFG', 'tok3n-abcdef',
    ]);
    expect(webhookSecrets('https://example.com/')).toEqual([]);
    expect(webhookSecrets('/relative/only')).toEqual([]);
  });
});

describe('checkAddress', () => {
  const check = (spec: Record<string, unknown>, secret?: Record<string, string>) => {
    const p = providerObject('slack', { ...spec, ...(secret ? { secretRef: { name: 's' } } : {}) });
    return checkAddress(settingsFor(p, secret ? [secretObject('s', secret)] : []), { what: 'Slack hook URL' });
  };

  it('returns a valid address, the Secret\'s over spec.address', () => {
    expect(check({ address: 'https://a.example/x' })).toBe('https://a.example/x');
    expect(check({ address: 'https://a.example/x' }, { address: ' https://b.example/y\n' })).toBe('https://b.example/y');
  });

  it('names the control character problem without the URL', () => {
    expect(() => check({ address: 'https://a.example/x\u0001secret' })).toThrow(ConfigError);
    expect(() => check({ address: 'https://a.example/x\u0001secret' })).toThrow(/^provider apps\/ops: spec\.address: invalid Slack hook URL: net\/url: invalid control character in URL \(/);
  });
});
