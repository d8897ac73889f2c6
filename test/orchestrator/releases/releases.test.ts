// Roots and releases on real Redis: publishing the root chain (anchor, N+1, refusals), importing
// release manifests signed offline (accepted at the release threshold; refused below it, for a
// key the current root does not list, for a payload that is not a stored artifact, for a
// sequence that does not increase), and the reads the rollout engine uses.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addSignatures, formatWireTime, manifestDigest } from '../../../protocol/index.js';
import { nodeEd25519 } from '../../../node-crypto/ed25519.js';
import { auth, KEYS, releaseEnvelope, rootEnvelope, startTestApp, type TestApp } from '../helpers.js';

let t: TestApp;
const artifact = randomBytes(4096);
const payload = { sha256: createHash('sha256').update(artifact).digest('hex'), size: artifact.length, uri: '' };

async function post(url: string, body: unknown) {
  return t.app.inject({ method: 'POST', url, headers: auth(t.operator), payload: body as object });
}

beforeAll(async () => {
  t = await startTestApp('releases');
  const uploaded = await t.app.inject({ method: 'PUT', url: '/v1/artifacts', headers: { ...auth(t.operator), 'content-type': 'application/octet-stream' }, payload: artifact });
  payload.uri = uploaded.json().uri;
});

afterAll(async () => {
  await t?.close();
});

describe('roots', () => {
  it('refuses a release before any root exists', async () => {
    const reply = await post('/v1/releases', releaseEnvelope({ payload }));
    expect(reply.statusCode).toBe(409);
    expect(reply.json().code).toBe('no_root');
  });

  it('refuses a first root that lacks its own root threshold', async () => {
    const reply = await post('/v1/roots', rootEnvelope(1, { signers: [KEYS.root[0]!] }));
    expect(reply.statusCode).toBe(422);
    expect(reply.json().code).toBe('root_invalid');
  });

  it('refuses an expired root', async () => {
    const reply = await post('/v1/roots', rootEnvelope(1, { expiresAt: formatWireTime(Date.now() / 1000 - 60) }));
    expect(reply.json().code).toBe('root_expired');
  });

  it('refuses something that is not a root envelope', async () => {
    const reply = await post('/v1/roots', { signed: { _type: 'root' }, signatures: [] });
    expect(reply.statusCode).toBe(400);
    expect(reply.json().code).toBe('invalid_root');
  });

  it('publishes the trust anchor (v1), then v2 signed by v1 and itself, and serves the chain publicly', async () => {
    expect((await post('/v1/roots', rootEnvelope(1))).statusCode).toBe(201);
    expect((await post('/v1/roots', rootEnvelope(2))).statusCode).toBe(201);
    const chain = (await t.app.inject({ method: 'GET', url: '/v1/roots' })).json();
    expect(chain.roots.map((r: { signed: { version: number } }) => r.signed.version)).toEqual([1, 2]);
    expect(chain.roots[1]).toEqual(rootEnvelope(2));
    expect((await t.app.inject({ method: 'GET', url: '/v1/roots/current' })).json().signed.version).toBe(2);
    expect((await t.app.services.roots.chainSince(1)).map((r) => r.signed.version)).toEqual([2]);
    expect(await t.app.services.roots.chainSince(2)).toEqual([]);
  });

  it('refuses a version gap, a replayed version and a root not signed by the current root keys', async () => {
    expect((await post('/v1/roots', rootEnvelope(4))).json().code).toBe('root_invalid');
    const replay = await post('/v1/roots', rootEnvelope(2));
    expect(replay.statusCode).toBe(409);
    expect(replay.json().code).toBe('root_conflict');
    const outsider = await post('/v1/roots', rootEnvelope(3, { signers: [KEYS.outsider, KEYS.root[0]!] }));
    expect(outsider.json().code).toBe('root_invalid');
    expect((await t.app.services.roots.current())?.signed.version).toBe(2);
  });
});

describe('release import', () => {
  it('accepts a manifest at the release threshold (2 of 3) and shows it with its digest', async () => {
    const envelope = releaseEnvelope({ releaseId: 'fw-1.0.0', sequence: 10, payload });
    const reply = await post('/v1/releases', envelope);
    expect(reply.statusCode).toBe(201);
    expect(reply.json()).toMatchObject({ releaseId: 'fw-1.0.0', version: '1.0.0', sequence: 10, vendorId: 'acme', classId: 'gw-2', digest: manifestDigest(envelope) });
    const shown = (await t.app.inject({ method: 'GET', url: '/v1/releases/fw-1.0.0', headers: auth(t.read) })).json();
    expect(shown.envelope).toEqual(envelope);
    expect(shown.digest).toBe(manifestDigest(envelope));
    // What the rollout engine reads.
    const stored = await t.app.services.releases.get('fw-1.0.0');
    expect(stored).toMatchObject({ digest: manifestDigest(envelope), envelope });
    expect((await t.app.services.releases.getByDigest(manifestDigest(envelope)))?.releaseId).toBe('fw-1.0.0');
  });

  it('refuses a manifest below the release threshold', async () => {
    const reply = await post('/v1/releases', releaseEnvelope({ releaseId: 'fw-one-sig', sequence: 11, payload }, [KEYS.release[0]!]));
    expect(reply.statusCode).toBe(422);
    expect(reply.json().code).toBe('release_signature');
  });

  it('refuses a manifest whose second signature is by a key the current root does not list', async () => {
    const reply = await post('/v1/releases', releaseEnvelope({ releaseId: 'fw-outsider', sequence: 11, payload }, [KEYS.release[0]!, KEYS.outsider]));
    expect(reply.json().code).toBe('release_signature');
  });

  it('counts one key signing twice once', async () => {
    const once = releaseEnvelope({ releaseId: 'fw-twice', sequence: 11, payload }, [KEYS.release[0]!]);
    const twice = { ...once, signatures: [once.signatures[0]!, once.signatures[0]!] };
    expect((await post('/v1/releases', twice)).json().code).toBe('release_signature');
  });

  it('refuses a tampered manifest (signatures over other bytes)', async () => {
    const envelope = releaseEnvelope({ releaseId: 'fw-tampered', sequence: 11, payload });
    const tampered = { ...envelope, signed: { ...envelope.signed, sequence: 12 } };
    expect((await post('/v1/releases', tampered)).json().code).toBe('release_signature');
  });

  it('refuses a payload that is not a stored artifact, or of another size', async () => {
    const missing = await post('/v1/releases', releaseEnvelope({ releaseId: 'fw-missing', sequence: 11, payload: { ...payload, sha256: 'f'.repeat(64) } }));
    expect(missing.statusCode).toBe(422);
    expect(missing.json().code).toBe('artifact_missing');
    const mismatch = await post('/v1/releases', releaseEnvelope({ releaseId: 'fw-mismatch', sequence: 11, payload: { ...payload, size: payload.size + 1 } }));
    expect(mismatch.statusCode).toBe(422);
    expect(mismatch.json().code).toBe('artifact_mismatch');
  });

  it('refuses a sequence that is not above the class last sequence, per class', async () => {
    for (const sequence of [10, 9]) {
      const reply = await post('/v1/releases', releaseEnvelope({ releaseId: `fw-seq-${sequence}`, sequence, payload }));
      expect(reply.statusCode).toBe(409);
      expect(reply.json().code).toBe('sequence_not_increasing');
    }
    // Another class has its own counter.
    expect((await post('/v1/releases', releaseEnvelope({ releaseId: 'fw-other-class', classId: 'gw-3', sequence: 1, payload }))).statusCode).toBe(201);
    expect(await t.app.services.releases.lastSequence('acme', 'gw-2')).toBe(10);
  });

  it('refuses a duplicate release id', async () => {
    const reply = await post('/v1/releases', releaseEnvelope({ releaseId: 'fw-1.0.0', sequence: 20, payload }));
    expect(reply.statusCode).toBe(409);
    expect(reply.json().code).toBe('duplicate_release');
  });

  it('refuses an expired manifest and a malformed one', async () => {
    const expired = await post('/v1/releases', releaseEnvelope({ releaseId: 'fw-expired', sequence: 30, payload, expiresAt: formatWireTime(Date.now() / 1000 - 1) }));
    expect(expired.json().code).toBe('release_expired');
    const envelope = releaseEnvelope({ releaseId: 'fw-float', sequence: 30, payload });
    const malformed = await post('/v1/releases', { ...envelope, signed: { ...envelope.signed, sequence: 30.5 } });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().code).toBe('invalid_release');
  });

  it('follows a release key rotation: after root v3 drops release key 1, its signature no longer counts', async () => {
    const v3 = rootEnvelope(3, { releaseKeys: [KEYS.release[1]!, KEYS.release[2]!] });
    expect((await post('/v1/roots', v3)).statusCode).toBe(201);
    const old = await post('/v1/releases', releaseEnvelope({ releaseId: 'fw-old-key', sequence: 40, payload }, [KEYS.release[0]!, KEYS.release[1]!]));
    expect(old.json().code).toBe('release_signature');
    // A third officer co-signs offline: 2 of the 2 listed keys now.
    const signed = addSignatures(releaseEnvelope({ releaseId: 'fw-new-keys', sequence: 40, payload }, [KEYS.release[1]!]), [KEYS.release[2]!], nodeEd25519);
    expect((await post('/v1/releases', signed)).statusCode).toBe(201);
  });

  it('lists releases newest first, filtered by class', async () => {
    const list = (await t.app.inject({ method: 'GET', url: '/v1/releases', headers: auth(t.read) })).json().releases;
    expect(list.map((r: { releaseId: string }) => r.releaseId)).toEqual(['fw-new-keys', 'fw-other-class', 'fw-1.0.0']);
    expect(list[0].payload).toEqual(payload);
    const gw3 = (await t.app.inject({ method: 'GET', url: '/v1/releases?classId=gw-3', headers: auth(t.read) })).json().releases;
    expect(gw3.map((r: { releaseId: string }) => r.releaseId)).toEqual(['fw-other-class']);
    expect((await t.app.inject({ method: 'GET', url: '/v1/releases/nope', headers: auth(t.read) })).statusCode).toBe(404);
  });
});
