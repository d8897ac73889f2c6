// The reference agent in owner mode (docs/protocol.md#owner-mode): it enrols from a root-signed
// ownership record carried by a directive message, persists it only with an accepted plan,
// installs what its owner signed, refuses the vendor's key, and a revocation stops the owner's
// uncommitted work.
import { describe, expect, it } from 'vitest';
import { buildOwnershipBody, buildReleaseBody, formatWireTime, signOwnership, signRelease, type ReleaseEnvelope } from '../../../protocol/index.js';
import { nodeEd25519 } from '../../../node-crypto/ed25519.js';
import { parseDeviceRecord } from '../../../device-sim/agent/device-state.js';
import { fixtureKey } from '../../fixtures/trust-fixtures.js';
import { waitFor } from '../support/fakes.js';
import { Harness } from '../support/harness.js';
import { CLASS, NOW, sha256Hex, VENDOR } from '../support/trust.js';

const OWNER = fixtureKey('owner alice');
const terminal = (h: Harness) => () => ['succeeded', 'failed', 'rejected'].includes(h.transport.reports.at(-1)?.state ?? '');

function ownerRelease(h: Harness, sequence: number): ReleaseEnvelope {
  return signRelease(buildReleaseBody({
    releaseId: `own-${sequence}`, version: `9.${sequence}.0`, sequence, vendorId: VENDOR, classId: CLASS,
    payload: { sha256: sha256Hex(h.payload), size: h.payload.length, uri: 'http://127.0.0.1:9/own.bin' },
    devices: [h.deviceId], createdAt: formatWireTime(NOW - 3600),
  }), [OWNER], nodeEd25519);
}

function record(h: Harness, version: number, owner: boolean) {
  const body = buildOwnershipBody({ deviceId: h.deviceId, version, ...(owner ? { ownerPublicKey: OWNER.publicKey } : {}), issuedAt: formatWireTime(NOW - 60) });
  return signOwnership(body, [h.t.keys.root], nodeEd25519);
}

describe('owner mode in the agent', () => {
  it('enrols, installs the owner release, refuses the vendor key, and keeps the record across a restart', async () => {
    const h = new Harness();
    await h.boot();
    h.transport.deliver(h.message({ counter: 1, release: ownerRelease(h, 2), ownership: record(h, 1, true) }));
    await waitFor(terminal(h));
    expect(h.transport.reports.at(-1)).toMatchObject({ state: 'succeeded', installed: { releaseId: 'own-2', sequence: 2 } });
    expect(h.record().ownership?.version).toBe(1);
    // The persisted record (a file is input too) still parses with the ownership record in it.
    expect(parseDeviceRecord(JSON.parse(JSON.stringify(h.record()))).ownership).toEqual(h.record().ownership);

    h.transport.deliver(h.message({ counter: 2, release: h.release({ sequence: 3 }) }));
    await waitFor(() => h.transport.reports.length > 0 && h.transport.reports.at(-1)!.counter === 2);
    expect(h.transport.reports.at(-1)).toMatchObject({ state: 'rejected', reason: 'owner_signature' });

    await h.agent.stop();
    await h.boot();
    h.transport.deliver(h.message({ counter: 3, release: h.release({ sequence: 3 }) }));
    await waitFor(() => h.transport.reports.at(-1)?.counter === 3);
    expect(h.transport.reports.at(-1)).toMatchObject({ state: 'rejected', reason: 'owner_signature' });
    await h.agent.stop();
  });

  it('a refused message does not enrol the device', async () => {
    const h = new Harness();
    await h.boot();
    // Enrolment carried by a message the device refuses (expired directive): nothing persisted.
    h.transport.deliver(h.message({ counter: 1, release: ownerRelease(h, 2), ownership: record(h, 1, true), expiresAt: formatWireTime(NOW - 1) }));
    await waitFor(terminal(h));
    expect(h.transport.reports.at(-1)).toMatchObject({ state: 'rejected', reason: 'directive_expired' });
    expect(h.record().ownership).toBeUndefined();
    await h.agent.stop();
  });

  it('a revocation carried by a cancel of another rollout stops the owner-authorized job in flight', async () => {
    const h = new Harness({ agent: { localWindow: { start: '13:00', end: '14:00' } } });
    await h.boot();
    h.transport.deliver(h.message({ counter: 1, rolloutId: 'r-own', release: ownerRelease(h, 2), ownership: record(h, 1, true) }));
    await waitFor(() => h.record().job?.step === 'deferred');
    h.transport.deliver(h.message({ counter: 2, rolloutId: 'r-other', action: 'cancel', release: ownerRelease(h, 2), ownership: record(h, 2, false) }));
    await waitFor(() => h.record().counter === 2);
    expect(h.record().job).toBeNull();
    expect(h.record().ownership).toMatchObject({ version: 2 });
    expect(h.record().ownership?.owner).toBeUndefined();
    await h.agent.stop();
  });
});
