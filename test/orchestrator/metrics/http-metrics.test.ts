// Metrics of the HTTP API counted where they happen: request latency by route pattern (never an
// id in a label) and artifact bytes actually sent, whole and ranged; and the broker's registry
// (what its metrics port serves) passes the real `promtool check metrics`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBrokerMetrics } from '../../../broker/observability/metrics.js';
import { buildApp } from '../../../orchestrator/http/app.js';
import { createOrchestratorMetrics, type OrchestratorMetrics } from '../../../orchestrator/metrics/index.js';
import { auth, startTestApp, type TestApp } from '../helpers.js';
import { parsePrometheusText, sampleValue, samplesOf } from './prom-text.js';
import { promtoolCheck } from './promtool.js';

let t: TestApp;
let metrics: OrchestratorMetrics;

beforeAll(async () => {
  t = await startTestApp('http-metrics');
  await t.app.close();
  metrics = createOrchestratorMetrics({ redis: t.redis, prefix: t.prefix, defaultMetrics: false });
  t.app = await buildApp({ redis: t.redis, prefix: t.prefix, config: t.config, topLevelRoutes: [metrics.plugin], httpObserver: metrics.http });
  await t.app.services.artifacts.init();
});

afterAll(async () => {
  await metrics?.close();
  await t?.close();
});

async function scrape() {
  const response = await t.app.inject({ method: 'GET', url: '/metrics', headers: auth(t.read) });
  expect(response.statusCode).toBe(200);
  return response.body;
}

describe('HTTP metrics', () => {
  it('count artifact bytes sent and request latency by route pattern', async () => {
    const bytes = Buffer.alloc(40_000, 7);
    const put = await t.app.inject({ method: 'PUT', url: '/v1/artifacts', payload: bytes, headers: { ...auth(t.operator), 'content-type': 'application/octet-stream' } });
    expect(put.statusCode).toBe(201);
    const { sha256 } = put.json() as { sha256: string };

    const whole = await t.app.inject({ method: 'GET', url: `/v1/artifacts/${sha256}` });
    expect(whole.rawPayload.length).toBe(bytes.length);
    const range = await t.app.inject({ method: 'GET', url: `/v1/artifacts/${sha256}`, headers: { range: 'bytes=100-1099' } });
    expect(range.statusCode).toBe(206);
    // Headers only, and a 304: no body bytes.
    expect((await t.app.inject({ method: 'HEAD', url: `/v1/artifacts/${sha256}` })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: `/v1/artifacts/${sha256}`, headers: { 'if-none-match': `"${sha256}"` } })).statusCode).toBe(304);
    expect((await t.app.inject({ method: 'GET', url: '/v1/devices/d-unknown', headers: auth(t.read) })).statusCode).toBe(404);

    const text = await scrape();
    expect(promtoolCheck(text)).toEqual({ ok: true, problems: '' });
    const families = parsePrometheusText(text);
    expect(sampleValue(families, 'fleet_artifact_bytes_served_total')).toBe(bytes.length + 1000);
    const route = '/v1/artifacts/:sha256';
    expect(sampleValue(families, 'fleet_http_request_duration_seconds_count', { method: 'GET', route, status_code: '200' })).toBe(1);
    expect(sampleValue(families, 'fleet_http_request_duration_seconds_count', { method: 'GET', route, status_code: '206' })).toBe(1);
    expect(sampleValue(families, 'fleet_http_request_duration_seconds_count', { method: 'GET', route, status_code: '304' })).toBe(1);
    expect(sampleValue(families, 'fleet_http_request_duration_seconds_count', { method: 'HEAD', route, status_code: '200' })).toBe(1);
    expect(sampleValue(families, 'fleet_http_request_duration_seconds_count', { method: 'GET', route: '/v1/devices/:id', status_code: '404' })).toBe(1);
    // Never a URL (with its ids) as a label value.
    for (const s of samplesOf(families, 'fleet_http_request_duration_seconds_count')) {
      expect(s.labels.route).not.toContain(sha256);
      expect(s.labels.route).not.toContain('d-unknown');
    }
    expect(sampleValue(families, 'fleet_build_info', { component: 'orchestrator' })).toBe(1);
  });

  it('the broker\'s exposition passes promtool too', async () => {
    const broker = createBrokerMetrics(() => 3, () => 4);
    broker.refusals.inc({ reason: 'connect_rate' });
    broker.connects.inc();
    broker.bytesIn.inc(100);
    const text = await broker.registry.metrics();
    expect(promtoolCheck(text)).toEqual({ ok: true, problems: '' });
    const families = parsePrometheusText(text);
    expect(sampleValue(families, 'fleet_broker_connections')).toBe(3);
    expect(sampleValue(families, 'fleet_build_info', { component: 'broker' })).toBe(1);
  });
});
