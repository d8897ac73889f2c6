// The audit log through the HTTP app (app.inject, real Redis): operator actions recorded with the
// calling token's id and label (never the token), newest first, paged and filtered; named tokens
// that expire or are revoked are refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog, type AuditEntry } from '../../../orchestrator/audit/audit-log.js';
import { createToken, hashToken, listTokens, revokeToken, tokenId } from '../../../orchestrator/auth/tokens.js';
import { auditLogKey } from '../../../state/logs/index.js';
import { auth, randomDeviceKey, startTestApp, type TestApp } from '../helpers.js';

let t: TestApp;
let clock = Date.parse('2030-01-01T00:00:00Z');

beforeAll(async () => {
  // The app's clock is the test's, so expiry does not depend on the calendar.
  t = await startTestApp('audit', {}, { now: () => new Date(clock) });
});

afterAll(async () => {
  await t?.close();
});

const device = (id: string) => ({ id, publicKey: randomDeviceKey(), vendorId: 'acme', classId: 'gw-1' });

async function audit(query = '', token = t.read): Promise<{ entries: AuditEntry[]; next?: string }> {
  const reply = await t.app.inject({ method: 'GET', url: `/v1/audit${query}`, headers: auth(token) });
  expect(reply.statusCode).toBe(200);
  return reply.json();
}

describe('GET /v1/audit', () => {
  it('records each operator action with the token id and label, the target and the time; never the token', async () => {
    const { token, hash } = await createToken(t.redis, t.prefix, 'operator', { label: 'alice' });
    for (const id of ['aud-1', 'aud-2', 'aud-3']) {
      expect((await t.app.inject({ method: 'POST', url: '/v1/devices', headers: auth(token), payload: device(id) })).statusCode).toBe(201);
    }
    expect((await t.app.inject({ method: 'POST', url: '/v1/devices/aud-2/revoke', headers: auth(t.operator) })).statusCode).toBe(200);
    // Refused actions change nothing and are not recorded.
    expect((await t.app.inject({ method: 'POST', url: '/v1/devices/aud-1/revoke', headers: auth(t.read) })).statusCode).toBe(403);
    expect((await t.app.inject({ method: 'POST', url: '/v1/devices', headers: auth(token), payload: device('aud-1') })).statusCode).toBe(409);

    const { entries } = await audit('?limit=10');
    expect(entries.map((e) => `${e.action} ${e.target}`)).toEqual(['device.revoke aud-2', 'device.register aud-3', 'device.register aud-2', 'device.register aud-1']);
    expect(entries[1]).toMatchObject({ actor: { via: 'api', tokenId: tokenId(hash), label: 'alice', role: 'operator' }, at: new Date(clock).toISOString() });
    expect(entries[0]!.actor).toMatchObject({ label: 'test operator' });
    const stream = JSON.stringify(await t.redis.xrange(auditLogKey(t.prefix), '-', '+'));
    expect(stream).not.toContain(token);
    expect(stream).not.toContain(hash);
  });

  it('pages newest first with next, and filters by action and target', async () => {
    const first = await audit('?limit=2');
    expect(first.entries.map((e) => e.target)).toEqual(['aud-2', 'aud-3']);
    const second = await audit(`?limit=2&before=${first.next}`);
    expect(second.entries.map((e) => e.target)).toEqual(['aud-2', 'aud-1']);
    expect((await audit('?action=device.revoke')).entries.map((e) => e.target)).toEqual(['aud-2']);
    expect((await audit('?target=aud-2')).entries.map((e) => e.action)).toEqual(['device.revoke', 'device.register']);
    const bad = await t.app.inject({ method: 'GET', url: '/v1/audit?action=drop.tables', headers: auth(t.read) });
    expect(bad.statusCode).toBe(400);
    expect((await t.app.inject({ method: 'GET', url: '/v1/audit' })).statusCode).toBe(401);
  });

  it('keeps the reason an operator gives, cut to the limit', async () => {
    const log = new AuditLog(t.redis, t.prefix);
    await log.record({ actor: { via: 'cli', label: 'ops@host' }, action: 'token.revoke', target: 'abcdef012345', reason: 'x'.repeat(400) });
    const [entry] = (await audit('?action=token.revoke')).entries;
    expect(entry).toMatchObject({ actor: { via: 'cli', label: 'ops@host' }, target: 'abcdef012345' });
    expect(entry!.reason).toHaveLength(256);
  });
});

describe('named tokens', () => {
  it('refuses a token after its expiry, on the app clock', async () => {
    const { token } = await createToken(t.redis, t.prefix, 'read', { label: 'temp', expiresAt: new Date(clock + 60_000), now: new Date(clock) });
    expect((await t.app.inject({ method: 'GET', url: '/v1/devices', headers: auth(token) })).statusCode).toBe(200);
    clock += 61_000;
    const late = await t.app.inject({ method: 'GET', url: '/v1/devices', headers: auth(token) });
    expect(late.statusCode).toBe(401);
    expect(late.json()).toMatchObject({ code: 'unauthorized' });
    await expect(createToken(t.redis, t.prefix, 'read', { expiresAt: new Date(clock - 1), now: new Date(clock) })).rejects.toMatchObject({ code: 'bad_expiry' });
    await expect(createToken(t.redis, t.prefix, 'read', { label: 'x'.repeat(65) })).rejects.toMatchObject({ code: 'bad_label' });
  });

  it('keeps a revoked token listed (with its revocation time) and refuses it', async () => {
    const { token, hash } = await createToken(t.redis, t.prefix, 'operator', { label: 'bob' });
    expect(await revokeToken(t.redis, t.prefix, hash, new Date(clock))).toBe(true);
    expect((await t.app.inject({ method: 'GET', url: '/v1/devices', headers: auth(token) })).statusCode).toBe(401);
    const listed = (await listTokens(t.redis, t.prefix)).find((entry) => entry.hash === hashToken(token));
    expect(listed).toMatchObject({ label: 'bob', revokedAt: new Date(clock).toISOString(), id: tokenId(hash) });
    expect(JSON.stringify(await listTokens(t.redis, t.prefix))).not.toContain(token);
  });
});
