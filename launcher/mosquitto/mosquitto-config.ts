// A Mosquitto 2.x deployment for fleet-ota (issue 15): devices on a TLS listener that requires a
// client certificate from the device CA and takes its CN as the username; services (the
// orchestrator) on a second listener with a password. Pattern ACLs give each device exactly the
// contract's topic rules (docs/protocol.md#mqtt-topics): read its own directive, write its own
// status and presence, nothing else. Queue limits are sized for the orchestrator's intake
// session, which Mosquitto's default (1,000 queued messages) would overflow during a wave.
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { TOPIC_ROOT } from '../../protocol/index.js';
import { writeFileAtomic } from '../../orchestrator/keys/key-file.js';

export interface MosquittoDeployment {
  /** Folder for every file written here (config, ACLs, password file, certificates, persistence). */
  dir: string;
  /** Device listener (TLS, client certificates). */
  devicePort: number;
  deviceBind?: string;
  /** Service listener (password), for the orchestrator: keep it on a private address. */
  servicePort: number;
  serviceBind?: string;
  /** PEM files the device listener serves and checks. */
  caFile: string;
  certFile: string;
  keyFile: string;
  /** The device CA's CRL (fleet-ota certs crl); Mosquitto reads it when it starts and on SIGHUP. */
  crlFile?: string;
  services: ReadonlyArray<{ username: string; secret: string }>;
  /** Messages queued per persistent session (the intake's) before Mosquitto drops: 0 = no limit. */
  maxQueuedMessages?: number;
  /** The account Mosquitto drops to when started as root (its default is `mosquitto`, which cannot read 0600 files written by root). */
  runAsUser?: string;
}

/** Mosquitto's own password hash ($7$: PBKDF2-SHA512, 101 rounds, 12-byte salt), as mosquitto_passwd writes it. */
export function mosquittoPasswordLine(username: string, secret: string): string {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(username)) throw new Error(`not a service account name: ${JSON.stringify(username)}`);
  const salt = randomBytes(12);
  const hash = pbkdf2Sync(secret, salt, 101, 64, 'sha512');
  return `${username}:$7$101$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** The device listener's ACL: the contract's topic rules, per device (%u = certificate CN = device id). */
export function deviceAcl(): string {
  return [
    '# fleet-ota devices: docs/protocol.md#mqtt-topics. %u is the certificate CN (use_identity_as_username).',
    `pattern read ${TOPIC_ROOT}/%u/directive`,
    `pattern write ${TOPIC_ROOT}/%u/status`,
    `pattern write ${TOPIC_ROOT}/%u/presence`,
    '',
  ].join('\n');
}

/** The service listener's ACL: the orchestrator publishes directives and reads status and presence. */
export function serviceAcl(usernames: readonly string[]): string {
  return [...usernames.flatMap((name) => [`user ${name}`, `topic readwrite ${TOPIC_ROOT}/#`, '']), ''].join('\n');
}

export function mosquittoConf(d: MosquittoDeployment): string {
  const lines = [
    '# Written by `fleet-ota certs mosquitto-config`: a fleet-ota deployment on Mosquitto 2.x.',
    'per_listener_settings true',
    ...(d.runAsUser ? [`user ${d.runAsUser}`] : []),
    'persistence true',
    `persistence_location ${join(d.dir, 'data')}/`,
    '# The intake session must never overflow while the orchestrator catches up: no count limit.',
    `max_queued_messages ${d.maxQueuedMessages ?? 0}`,
    'max_inflight_messages 1000',
    'log_type error',
    'log_type warning',
    ...(process.env.FLEET_MOSQUITTO_DEBUG ? ['log_type all'] : []),
    '',
    '# Devices: TLS with a client certificate from the device CA; the CN is the username.',
    `listener ${d.devicePort} ${d.deviceBind ?? '0.0.0.0'}`,
    `cafile ${d.caFile}`,
    `certfile ${d.certFile}`,
    `keyfile ${d.keyFile}`,
    ...(d.crlFile ? [`crlfile ${d.crlFile}`] : []),
    'require_certificate true',
    'use_identity_as_username true',
    'allow_anonymous false',
    `acl_file ${join(d.dir, 'acl-devices')}`,
    '',
    '# Services (the orchestrator): password accounts, on a private address.',
    `listener ${d.servicePort} ${d.serviceBind ?? '127.0.0.1'}`,
    `password_file ${join(d.dir, 'passwd')}`,
    'allow_anonymous false',
    `acl_file ${join(d.dir, 'acl-services')}`,
    '',
  ];
  return lines.join('\n');
}

/** Writes mosquitto.conf, both ACLs and the password file (0600) into `d.dir`; returns the config path. */
export async function writeMosquittoDeployment(d: MosquittoDeployment): Promise<string> {
  await mkdir(join(d.dir, 'data'), { recursive: true, mode: 0o700 });
  await writeFileAtomic(join(d.dir, 'acl-devices'), deviceAcl(), 0o644);
  await writeFileAtomic(join(d.dir, 'acl-services'), serviceAcl(d.services.map((s) => s.username)), 0o644);
  await writeFileAtomic(join(d.dir, 'passwd'), `${d.services.map((s) => mosquittoPasswordLine(s.username, s.secret)).join('\n')}\n`, 0o600);
  const path = join(d.dir, 'mosquitto.conf');
  await writeFileAtomic(path, mosquittoConf(d), 0o644);
  return path;
}
