// The device CA: X.509 client certificates that let a standard MQTT broker (Mosquitto, EMQX,
// HiveMQ, AWS IoT Core) authenticate devices, where fleet-ota's EdDSA connect token needs the
// embedded broker. A certificate binds `CN=<deviceId>` to the device's own registered Ed25519
// key, so the CA needs no CSR and the device no second secret: the key it signs reports with
// also signs its TLS handshakes (TLS 1.3 CertificateVerify content starts with 64 spaces and a
// context string, so it can never be taken for one of our canonical JSON messages).
// X.509 encoding is @peculiar/x509's (over WebCrypto's Ed25519); Node can parse certificates but
// not build them.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createPrivateKey, createPublicKey, randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import { appendFile, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { toBase64url } from '../../protocol/index.js';
import { FleetError } from '../../runtime/errors.js';
import { writeFileAtomic } from './key-file.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const ED25519 = { name: 'Ed25519' } as const;
const DAY_SECONDS = 86_400;

export const DEVICE_CA_FILES = { certificate: 'device-ca.crt', key: 'device-ca.key', issued: 'device-ca.issued.jsonl' } as const;

/** Default lifetimes: a short device certificate bounds how long a revoked device can connect where no CRL is checked. */
export const DEVICE_CA_DEFAULTS = { caDays: 3650, deviceDays: 30, serverDays: 397, crlHours: 24 } as const;

/** The device CA's errors (runtime/errors.ts family). */
export class DeviceCaError extends FleetError<'device_ca' | 'key_permissions' | 'bad_input'> {
  /** The CLI's exit status: 2 for bad input (usage), 1 otherwise. */
  readonly exitCode: number;

  constructor(code: 'device_ca' | 'key_permissions' | 'bad_input', message: string) {
    super(code, message);
    this.exitCode = code === 'bad_input' ? 2 : 1;
  }
}

export interface DeviceCa {
  certificate: x509.X509Certificate;
  certificatePem: string;
  privateKey: CryptoKey;
  dir: string;
}

/** One line of the issuance log: what a CRL needs to revoke a device's certificates by serial. */
export interface IssuedCertificate {
  deviceId: string;
  serial: string;
  notAfter: string;
}

function serialNumber(): string {
  // RFC 5280 §4.1.2.2: positive, at most 20 octets, unique per CA: 16 random bytes, top bit clear.
  const bytes = randomBytes(16);
  bytes[0]! &= 0x7f;
  return bytes.toString('hex');
}

function at(seconds: number): Date {
  return new Date(seconds * 1000);
}

/** Creates the CA key (PKCS#8 PEM, 0600) and its self-signed certificate (0644) in `dir`; refuses to overwrite. */
export async function createDeviceCa(dir: string, options: { nowSeconds: number; days?: number; name?: string }): Promise<DeviceCa> {
  const keyPath = join(dir, DEVICE_CA_FILES.key);
  if (await stat(keyPath).then(() => true, () => false)) throw new DeviceCaError('device_ca', `${keyPath} exists: a device CA is never overwritten (devices and brokers trust it)`);
  const keys = (await webcrypto.subtle.generateKey(ED25519, true, ['sign', 'verify'])) as CryptoKeyPair;
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: `CN=${options.name ?? 'fleet-ota device CA'}`,
    notBefore: at(options.nowSeconds - 300),
    notAfter: at(options.nowSeconds + (options.days ?? DEVICE_CA_DEFAULTS.caDays) * DAY_SECONDS),
    keys,
    signingAlgorithm: ED25519,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const keyPem = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }).export({ format: 'pem', type: 'pkcs8' }).toString();
  await writeFileAtomic(keyPath, keyPem, 0o600);
  const certificatePem = certificate.toString('pem');
  await writeFileAtomic(join(dir, DEVICE_CA_FILES.certificate), `${certificatePem}\n`, 0o644);
  return { certificate, certificatePem, privateKey: keys.privateKey, dir };
}

/** Loads the CA from `dir`; its key file must be readable by its owner only. */
export async function loadDeviceCa(dir: string): Promise<DeviceCa> {
  const keyPath = join(dir, DEVICE_CA_FILES.key);
  const info = await stat(keyPath).catch(() => {
    throw new DeviceCaError('device_ca', `no device CA in ${dir} (fleet-ota certs init creates one)`);
  });
  if ((info.mode & 0o077) !== 0) throw new DeviceCaError('key_permissions', `${keyPath} is readable by others (mode ${(info.mode & 0o777).toString(8)}): chmod 600 it`);
  const keyObject = createPrivateKey(await readFile(keyPath, 'utf8'));
  if (keyObject.asymmetricKeyType !== 'ed25519') throw new DeviceCaError('device_ca', `${keyPath} is not an Ed25519 key`);
  const der = keyObject.export({ format: 'der', type: 'pkcs8' });
  const privateKey = await webcrypto.subtle.importKey('pkcs8', der, ED25519, false, ['sign']);
  const certificatePem = (await readFile(join(dir, DEVICE_CA_FILES.certificate), 'utf8')).trim();
  const certificate = new x509.X509Certificate(certificatePem);
  const caPublic = createPublicKey(keyObject).export({ format: 'der', type: 'spki' });
  if (!Buffer.from(certificate.publicKey.rawData).equals(caPublic)) throw new DeviceCaError('device_ca', `${dir}: the CA certificate does not match the CA key`);
  return { certificate, certificatePem, privateKey, dir };
}

async function importEd25519Public(raw: Uint8Array): Promise<CryptoKey> {
  if (raw.length !== 32) throw new DeviceCaError('bad_input', 'an Ed25519 public key is 32 bytes');
  return webcrypto.subtle.importKey('jwk', { kty: 'OKP', crv: 'Ed25519', x: toBase64url(raw) }, ED25519, true, ['verify']);
}

/** A device's client certificate over its registered key: subject CN = device id, clientAuth only. */
export async function issueDeviceCertificate(ca: DeviceCa, request: { deviceId: string; publicKey: Uint8Array; nowSeconds: number; days?: number }): Promise<{ pem: string; serial: string; notAfter: string }> {
  // The id becomes the MQTT username (use_identity_as_username) and a topic level: the contract's id rule, no DN metacharacters.
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(request.deviceId)) throw new DeviceCaError('bad_input', `not a device id: ${JSON.stringify(request.deviceId)}`);
  const serial = serialNumber();
  const notAfter = at(request.nowSeconds + (request.days ?? DEVICE_CA_DEFAULTS.deviceDays) * DAY_SECONDS);
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: serial,
    subject: `CN=${request.deviceId}`,
    issuer: ca.certificate.subject,
    notBefore: at(request.nowSeconds - 300),
    notAfter,
    signingAlgorithm: ED25519,
    publicKey: await importEd25519Public(request.publicKey),
    signingKey: ca.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
      await x509.AuthorityKeyIdentifierExtension.create(ca.certificate),
    ],
  });
  const issued: IssuedCertificate = { deviceId: request.deviceId, serial, notAfter: notAfter.toISOString() };
  await appendFile(join(ca.dir, DEVICE_CA_FILES.issued), `${JSON.stringify(issued)}\n`, { mode: 0o644 });
  return { pem: certificate.toString('pem'), serial, notAfter: issued.notAfter };
}

/** A TLS server certificate (and a fresh Ed25519 key, PEM) for a broker listener, issued by the same CA devices trust. */
export async function issueServerCertificate(ca: DeviceCa, request: { hostnames: readonly string[]; nowSeconds: number; days?: number }): Promise<{ certificatePem: string; keyPem: string }> {
  if (request.hostnames.length === 0) throw new DeviceCaError('bad_input', 'a server certificate names at least one host');
  const keys = (await webcrypto.subtle.generateKey(ED25519, true, ['sign', 'verify'])) as CryptoKeyPair;
  const names = request.hostnames.map((host) => (/^[\d.]+$|:/.test(host) ? { type: 'ip' as const, value: host } : { type: 'dns' as const, value: host }));
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: `CN=${request.hostnames[0]}`,
    issuer: ca.certificate.subject,
    notBefore: at(request.nowSeconds - 300),
    notAfter: at(request.nowSeconds + (request.days ?? DEVICE_CA_DEFAULTS.serverDays) * DAY_SECONDS),
    signingAlgorithm: ED25519,
    publicKey: keys.publicKey,
    signingKey: ca.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names),
      await x509.AuthorityKeyIdentifierExtension.create(ca.certificate),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const keyPem = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }).export({ format: 'pem', type: 'pkcs8' }).toString();
  return { certificatePem: certificate.toString('pem'), keyPem };
}

/** Every certificate the CA issued (the issuance log), oldest first. */
export async function readIssued(ca: DeviceCa): Promise<IssuedCertificate[]> {
  const text = await readFile(join(ca.dir, DEVICE_CA_FILES.issued), 'utf8').catch(() => '');
  return text.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as IssuedCertificate);
}

/**
 * A CRL revoking every unexpired certificate issued to `revokedDeviceIds` (brokers check
 * serials, so the issuance log maps devices to serials). Valid for `hours`: regenerate it
 * before then and on every revocation.
 */
export async function buildCrl(ca: DeviceCa, revokedDeviceIds: Iterable<string>, options: { nowSeconds: number; hours?: number }): Promise<{ pem: string; revokedSerials: number }> {
  const revoked = new Set(revokedDeviceIds);
  const now = at(options.nowSeconds);
  const entries = (await readIssued(ca))
    .filter((issued) => revoked.has(issued.deviceId) && new Date(issued.notAfter) > now)
    .map((issued) => ({ serialNumber: issued.serial, revocationDate: now }));
  const crl = await x509.X509CrlGenerator.create({
    issuer: ca.certificate.subject,
    thisUpdate: at(options.nowSeconds - 60),
    nextUpdate: at(options.nowSeconds + (options.hours ?? DEVICE_CA_DEFAULTS.crlHours) * 3600),
    entries,
    signingAlgorithm: ED25519,
    signingKey: ca.privateKey,
    extensions: [await x509.AuthorityKeyIdentifierExtension.create(ca.certificate)],
  });
  // OpenSSL (Mosquitto, most brokers) reads only the RFC 7468 label `X509 CRL`, not the library's `CRL`.
  const base64 = Buffer.from(crl.rawData).toString('base64').replace(/(.{64})/g, '$1\n').trimEnd();
  return { pem: `-----BEGIN X509 CRL-----\n${base64}\n-----END X509 CRL-----\n`, revokedSerials: entries.length };
}

/** Node's view of a PEM certificate (tests and checks). */
export function parseCertificate(pem: string): X509Certificate {
  return new X509Certificate(pem);
}
