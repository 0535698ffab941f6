// Templates as a user meets them: `herald check` reports a broken one, `herald explain --render` previews the request
// (secrets masked, nothing sent), and `herald serve` sends exactly the previewed bytes, or Flux's format when the
// template is broken or runs away.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliPath, postEvent, repoRoot, startHerald } from '../../helpers/herald-process.js';
import { checkDirectory, explainDirectory } from '../../../src/tools.js';
import { fixturesDir, fixtureText } from '../../helpers/fixtures.js';
import { startRecordingServer } from '../../helpers/recording-server.js';
import { tempConfigDirs } from '../../helpers/config-dir.js';

const configDir = tempConfigDirs('herald-tpl-cli-');
const EVENT = path.join(fixturesDir, 'events/kustomize-controller-health-check-failed.json');

function herald(...args: string[]) {
  const r = spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** A Provider and an Alert on every Kustomization in flux-system, with the Alert's annotations. */
function pair(name: string, provider: string, annotations: Record<string, string>): string {
  const ann = Object.entries(annotations).map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`).join('\n');
  return `${provider.trim()}
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata:
  name: ${name}
  namespace: flux-system
${ann ? `  annotations:\n${ann}\n` : ''}spec:
  providerRef: { name: ${name} }
  eventSources: [{ kind: Kustomization, name: '*' }]
`;
}

const providerYaml = (name: string, spec: string) => `apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata: { name: ${name}, namespace: flux-system }
spec: ${spec}`;
const generic = (name: string, address: string) => providerYaml(name, `{ type: generic, address: '${address}' }`);
/** A Provider and the Secret its spec references. */
const withSecret = (name: string, spec: string, secret: string, stringData: string) => `${providerYaml(name, spec)}
---
apiVersion: v1
kind: Secret
metadata: { name: ${secret}, namespace: flux-system }
stringData: ${stringData}`;

const BODY_TEMPLATE = '{"title": "{{ event.involvedObject.kind }}/{{ event.involvedObject.name }} {{ event.reason }}", "text": {{ event.message | json }}}\n';

describe('herald check and templates', () => {
  it('reports a template that does not parse, a missing file, an escaping path and a ConfigMap ref; ok otherwise', () => {
    const d = configDir({
      'a.yaml': [
        pair('broken', generic('broken', 'https://example.com/a'), { 'herald.dev/template': '{% if event.severity %}unclosed' }),
        pair('missing', generic('missing', 'https://example.com/b'), { 'herald.dev/template-ref': 'templates/nope.liquid' }),
        pair('escape', generic('escape', 'https://example.com/c'), { 'herald.dev/template-ref': '../etc/passwd' }),
        pair('cm', generic('cm', 'https://example.com/d'), { 'herald.dev/template-ref': 'configmap:templates/slack' }),
      ].join('---\n'),
    });
    const r = herald('check', d);
    expect(r.code).toBe(1);
    const lines = r.out.trim().split('\n');
    expect(lines).toContain('Alert flux-system/broken: herald.dev/template: failed to parse template: tag {% if event.severity %} not closed, line:1, col:1');
    expect(lines).toContain('Alert flux-system/missing: herald.dev/template-ref: cannot read the template file (ENOENT)');
    expect(lines).toContain("Alert flux-system/escape: herald.dev/template-ref: \"../etc/passwd\" must be a relative path inside the config directory, without '..'");
    expect(lines.some((l) => l.startsWith('Alert flux-system/cm: herald.dev/template-ref: ConfigMap templates (configmap:templates/slack) are not supported yet'))).toBe(true);
    expect(lines.at(-1)).toMatch(/^4 problem\(s\) in /);

    const good = configDir({ 'a.yaml': pair('good', generic('good', 'https://example.com/a'), { 'herald.dev/template-ref': 'body.liquid' }), 'body.liquid': BODY_TEMPLATE });
    const ok = herald('check', good);
    expect(ok.out).toMatch(/^ok: 1 Alerts, 1 Providers/);
    expect(ok.code).toBe(0);
  });
});

describe('herald explain --render', () => {
  it('prints each request with secrets masked and sends nothing; git and bus types say what they would do', async () => {
    const srv = await startRecordingServer();
    try {
      const slackHook = `${srv.url}/services/T000/B000/XXXXSECRETXXXX`;
      const d = configDir({
        'a.yaml': [
          pair('slack', withSecret('slack', "{ type: slack, channel: '#ops', secretRef: { name: slack-url } }", 'slack-url', `{ address: '${slackHook}' }`),
            { 'herald.dev/template': ':boom: *{{ event.involvedObject.name }}* {{ event.reason }}' }),
          pair('pd', withSecret('pd', `{ type: opsgenie, address: '${srv.url}/v2/alerts', secretRef: { name: genie } }`, 'genie', '{ token: genie-key-1234 }'), {}),
          pair('bus', providerYaml('bus', "{ type: nats, address: 'nats://127.0.0.1:1', channel: flux.events }"), {}),
          pair('git', withSecret('git', "{ type: github, address: 'https://github.com/acme/fleet', secretRef: { name: gh } }", 'gh', '{ token: ghp-token-5678 }'),
            { 'herald.dev/template': 'never used' }),
        ].join('---\n'),
      });
      const r = herald('explain', d, EVENT, '--render');
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      expect(r.out).toContain('flux-system/slack: MATCH (source Kustomization/*) -> slack provider slack\n'
        + '    POST *****\n    Content-Type: application/json\n\n'
        + '    {"channel":"#ops","username":"kustomize-controller","icon_url":"","icon_emoji":"","attachments":[{"fallback":"kustomization/apps.flux-system: :boom: *apps* HealthCheckFailed","color":"danger","author_name":"kustomization/apps.flux-system","text":":boom: *apps* HealthCheckFailed"');
      expect(r.out).toContain(`    POST ${srv.url}/v2/alerts\n    Content-Type: application/json\n    Authorization: GenieKey *****\n`);
      expect(r.out).toContain('    PUBLISH NATS subject flux.events\n\n    {"involvedObject":{"kind":"Kustomization"');
      expect(r.out).not.toContain('XXXXSECRETXXXX');
      expect(r.out).not.toContain('genie-key-1234');
      expect(r.out).toMatch(/flux-system\/git: MATCH .* -> github provider git \(commit status id [^)]+\)\n    preview not available for github\n/);
      expect(r.out).not.toContain('ghp-token-5678');
      expect(r.out).toContain('4 notification(s) would be sent (nothing was sent)');
      await new Promise((res) => setTimeout(res, 200));
      expect(srv.requests).toHaveLength(0);
    } finally {
      await srv.close();
    }
  });
});

describe('herald serve with templates', () => {
  it('sends exactly the previewed request; a broken or runaway template falls back to Flux’s body with a Warning', async () => {
    const srv = await startRecordingServer();
    const d = configDir({
      'a.yaml': [
        pair('good', generic('good', `${srv.url}/good`), { 'herald.dev/template-ref': 'templates/body.liquid', 'herald.dev/template-content-type': 'application/vnd.example+json' }),
        pair('broken', generic('broken', `${srv.url}/broken`), { 'herald.dev/template': '{{ event.message ' }),
        pair('runaway', generic('runaway', `${srv.url}/runaway`), { 'herald.dev/template': '{% for a in (1..100000) %}{% for b in (1..100000) %}xxxxxxxxxx{% endfor %}{% endfor %}' }),
      ].join('---\n'),
    });
    mkdirSync(path.join(d, 'templates'));
    writeFileSync(path.join(d, 'templates/body.liquid'), BODY_TEMPLATE);
    const preview = herald('explain', d, EVENT, '--render').out;
    const h = await startHerald({ configDir: d });
    try {
      expect((await postEvent(h.eventsUrl, fixtureText('events/kustomize-controller-health-check-failed.json'))).status).toBe(202);
      const reqs = await srv.waitFor(3, 10_000);
      const good = reqs.find((q) => q.url === '/good')!;
      expect(good.text).toBe('{"title": "Kustomization/apps HealthCheckFailed", "text": "health check failed after 5m0.021470328s: timeout waiting for: [Deployment/apps/podinfo status: \'InProgress\']"}\n');
      expect(good.headers['content-type']).toBe('application/vnd.example+json');
      // The preview block of the good Alert is the request received: method and URL, headers in order, body bytes.
      const block = preview.split('flux-system/good: MATCH')[1]!.split('\n  flux-system/')[0]!.split('\n').slice(1).map((l) => l.replace(/^ {4}/, ''));
      const blank = block.indexOf('');
      expect(block[0]).toBe(`POST ${srv.url}/good`);
      const sent = good.rawHeaders.filter(([n]) => !['host', 'content-length', 'connection', 'accept-encoding', 'user-agent'].includes(n.toLowerCase()));
      expect(block.slice(1, blank)).toEqual(sent.map(([n, v]) => `${n}: ${v}`));
      expect(block.slice(blank + 1).join('\n').replace(/\n\d+ notification\(s\)[^]*$/, '')).toBe(good.text);

      expect(preview).toMatch(/flux-system\/broken: MATCH [^\n]*\n    template failed: Alert flux-system\/broken: herald.dev\/template: failed to parse template: [^\n]*; sending Flux's format instead\n    POST /);
      const flux = JSON.parse(fixtureText('events/kustomize-controller-health-check-failed.json')) as { message: string };
      for (const name of ['broken', 'runaway']) {
        const q = reqs.find((x) => x.url === `/${name}`)!;
        expect(q.headers['content-type']).toBe('application/json');
        expect((JSON.parse(q.text) as { message: string }).message).toBe(flux.message);
      }
      await h.waitForLog(/"reason":"InvalidConfig".*Alert flux-system\/broken: herald.dev\/template: failed to parse template: .*sending Flux's format instead/);
      await h.waitForLog(/"reason":"InvalidConfig".*Alert flux-system\/runaway: herald.dev\/template: template render failed: template render limit exceeded/);
      await h.waitForLog(/message template failed/);
    } finally {
      await h.stop();
      await srv.close();
    }
  });
});

describe('docs/templates.md examples', () => {
  it('pass herald check and render as documented (the Slack message and the generic body)', async () => {
    const page = readFileSync(path.join(repoRoot, 'docs/templates.md'), 'utf8');
    const yamls = [...page.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
    const liquid = /```liquid\n([\s\S]*?)```/.exec(page)![1]!;
    expect(yamls).toHaveLength(2);
    const srv = await startRecordingServer();
    try {
      // The documented addresses, pointed at a local server so that a real send can be compared.
      const d = configDir({
        'slack.yaml': yamls[0]!.replace('https://hooks.slack.com', srv.url),
        'generic.yaml': yamls[1]!.replace('https://deploys.example.com', srv.url),
      });
      mkdirSync(path.join(d, 'templates'));
      writeFileSync(path.join(d, 'templates/deploy-event.json.liquid'), liquid);
      const checked: string[] = [];
      expect(await checkDirectory(d, (l) => checked.push(l))).toBe(0);
      expect(checked).toEqual(['ok: 2 Alerts, 2 Providers, 1 Secrets, 0 other objects']);
      const lines: string[] = [];
      await explainDirectory(d, EVENT, (l) => lines.push(l), { render: true });
      const out = lines.join('\n');
      const slackBody = JSON.parse(lines[lines.findIndex((l) => l.includes('slack-deploys: MATCH')) + 4]!.trim()) as { attachments: { text: string; author_name: string }[] };
      expect(slackBody.attachments[0]!.author_name).toBe('Kustomization flux-system/apps');
      expect(slackBody.attachments[0]!.text).toBe(":red_circle: *HealthCheckFailed*\nhealth check failed after 5m0.021470328s: timeout waiting for: [Deployment/apps/podinfo status: 'InProgress']\nRevision `main@sha1:36e078398e08984c645aaad358c9b33e256195fd`\n");
      const start = lines.findIndex((l) => l.includes('deploy-events: MATCH')) + 4;
      const body = lines.slice(start, lines.findIndex((l, i) => i > start && l === '    }') + 1).map((l) => l.slice(4)).join('\n');
      expect(JSON.parse(body)).toEqual({
        object: 'Kustomization/flux-system/apps', failed: true, reason: 'HealthCheckFailed',
        text: "health check failed after 5m0.021470328s: timeout waiting for: [Deployment/apps/podinfo status: 'InProgress']",
        revision: 'main@sha1:36e078398e08984c645aaad358c9b33e256195fd', team: 'platform',
      });
      expect(out).not.toContain('XXXXXXXXXXXXXXXXXXXXXXXX');
      expect(srv.requests).toHaveLength(0);
    } finally {
      await srv.close();
    }
  });
});
