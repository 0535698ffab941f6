// The incident providers' pure pieces: bodies for an event without a timestamp (Go's zero time), URL and label helpers.
import { describe, expect, it } from 'vitest';
import { decodeEvent } from '../../../src/api/event.js';
import { alertmanagerBody, titleCase } from '../../../src/providers/incident/alertmanager.js';
import { datadogBody, datadogEventsUrl } from '../../../src/providers/incident/datadog.js';
import { grafanaBody } from '../../../src/providers/incident/grafana.js';
import { pagerDutyAlertBody, pagerDutyBase, pagerDutyChangeBody } from '../../../src/providers/incident/pagerduty.js';
import { incidentIoBody } from '../../../src/providers/incident/incident-io.js';
import { opsgenieBody } from '../../../src/providers/incident/opsgenie.js';

const untimed = () => decodeEvent('{"involvedObject":{"kind":"Kustomization","namespace":"apps","name":"web<app>"},"severity":"error","message":"a & b","reason":"Failed","reportingController":"kc"}');

describe('incident bodies for an event without a timestamp', () => {
  it('use Go\'s zero time as Flux does: RFC 3339 0001-01-01T00:00:00Z, Unix -62135596800', () => {
    const e = untimed();
    expect(e.timestamp).toBeNull();
    expect(JSON.parse(alertmanagerBody(e))[0].startsAt).toBe('0001-01-01T00:00:00Z');
    expect(JSON.parse(pagerDutyAlertBody(e, 'k')).payload.timestamp).toBe('0001-01-01T00:00:00Z');
    expect(JSON.parse(pagerDutyChangeBody(e, 'k')).payload.timestamp).toBe('0001-01-01T00:00:00Z');
    expect(JSON.parse(grafanaBody(e)).when).toBe(-62135596800);
    expect(JSON.parse(datadogBody(e)).date_happened).toBe(-62135596800);
  });

  it('escape <, > and & as Go\'s encoding/json does', () => {
    const e = untimed();
    for (const body of [alertmanagerBody(e), pagerDutyAlertBody(e, 'k'), grafanaBody(e), datadogBody(e), incidentIoBody(e), opsgenieBody(e, 'alias')]) {
      expect(body).not.toMatch(/[<>&]/);
      expect(body).toContain('\\u003c');
    }
  });
});

describe('incident URL helpers', () => {
  it('pagerduty keeps scheme and host (with port), and has no base for a path-only address', () => {
    expect(pagerDutyBase('https://user:pw@events.pagerduty.com:8443/v2/enqueue?x=1')).toBe('https://events.pagerduty.com:8443');
    expect(pagerDutyBase('/v2/enqueue')).toBeUndefined();
  });

  it('datadog fills a missing scheme or host with the SDK defaults', () => {
    expect(datadogEventsUrl('http:')).toBe('http://api.datadoghq.com/api/v1/events');
    expect(datadogEventsUrl('//api.datadoghq.eu/x')).toBe('https://api.datadoghq.eu/api/v1/events');
  });

  it('alertmanager title-cases words split on Unicode word boundaries', () => {
    expect(titleCase('V2Alpha')).toBe('V2alpha');
    expect(titleCase('dependency_not_ready')).toBe('Dependency_not_ready');
  });
});
