// `fleet-ota certs ...`: the device CA for standard MQTT brokers (issue 15): create it, issue a
// device's certificate over its registered key, write the CRL of revoked devices, and write a
// Mosquitto deployment. Offline like `keys`: the CA key never leaves the machine it is on.
// Thin: parses options and prints results; the work is in orchestrator/keys/device-ca.ts and
// launcher/mosquitto/mosquitto-config.ts. Never prints a secret.
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { decodePublicKey } from '../../protocol/index.js';
import { buildCrl, createDeviceCa, DEVICE_CA_DEFAULTS, DEVICE_CA_FILES, DeviceCaError, issueDeviceCertificate, issueServerCertificate, loadDeviceCa } from '../../orchestrator/keys/device-ca.js';
import { writeFileAtomic } from '../../orchestrator/keys/key-file.js';
import { writeMosquittoDeployment } from '../mosquitto/mosquitto-config.js';

function integer(min: number, max: number): (value: string) => number {
  return (value) => {
    if (!/^\d{1,9}$/.test(value) || Number(value) < min || Number(value) > max) throw new InvalidArgumentError(`expected an integer in ${min}..${max}`);
    return Number(value);
  };
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, ...value.split(',').map((v) => v.trim()).filter(Boolean)];
}

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** Device ids from --device flags and an optional file of one id per line (blank lines and # comments skipped). */
async function deviceIds(ids: string[], file: string | undefined): Promise<string[]> {
  const fromFile = file ? (await readFile(file, 'utf8')).split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#')) : [];
  return [...ids, ...fromFile];
}

export function registerCertsCommands(program: Command): void {
  const certs = program.command('certs').description('device certificates for standard MQTT brokers (Mosquitto, EMQX, HiveMQ, AWS IoT Core): CA, issue, CRL, Mosquitto config');

  certs.command('init')
    .description(`create the device CA in <dir> (${DEVICE_CA_FILES.key} 0600, ${DEVICE_CA_FILES.certificate}); never overwrites`)
    .requiredOption('--dir <dir>', 'where the CA lives (keep it as protected as the director key)')
    .option('--days <n>', 'CA lifetime in days', integer(1, 36_500), DEVICE_CA_DEFAULTS.caDays)
    .action(async (o: { dir: string; days: number }) => {
      const ca = await createDeviceCa(o.dir, { nowSeconds: nowSeconds(), days: o.days });
      process.stdout.write(`created ${join(o.dir, DEVICE_CA_FILES.key)} (mode 0600) and ${join(o.dir, DEVICE_CA_FILES.certificate)} (${ca.certificate.subject}, until ${ca.certificate.notAfter.toISOString()})\n`);
    });

  certs.command('issue')
    .description('issue a device certificate over the device\'s registered Ed25519 public key (subject CN = device id)')
    .requiredOption('--dir <dir>', 'the device CA')
    .requiredOption('--id <deviceId>', 'the device id')
    .requiredOption('--public-key <base64url>', 'the device\'s public key, as registered (fleet-ota devices show <id>)')
    .option('--days <n>', 'lifetime in days (short bounds how long a revoked device connects where no CRL is checked)', integer(1, 825), DEVICE_CA_DEFAULTS.deviceDays)
    .requiredOption('--out <file>', 'where to write the certificate (PEM)')
    .action(async (o: { dir: string; id: string; publicKey: string; days: number; out: string }) => {
      const publicKey = decodePublicKey(o.publicKey);
      if (!publicKey) throw new DeviceCaError('bad_input', '--public-key is not a base64url Ed25519 public key (32 bytes)');
      const ca = await loadDeviceCa(o.dir);
      const issued = await issueDeviceCertificate(ca, { deviceId: o.id, publicKey, nowSeconds: nowSeconds(), days: o.days });
      await writeFileAtomic(o.out, issued.pem, 0o644);
      process.stdout.write(`wrote ${o.out}: CN=${o.id}, serial ${issued.serial}, until ${issued.notAfter}\n`);
    });

  certs.command('server')
    .description('issue a TLS server certificate and key (0600) for a broker listener, from the device CA that devices trust')
    .requiredOption('--dir <dir>', 'the device CA')
    .requiredOption('--host <name>', 'a DNS name or IP address of the broker (repeat or comma-separate)', collect, [])
    .option('--days <n>', 'lifetime in days', integer(1, 825), DEVICE_CA_DEFAULTS.serverDays)
    .requiredOption('--out <prefix>', 'writes <prefix>.crt and <prefix>.key')
    .action(async (o: { dir: string; host: string[]; days: number; out: string }) => {
      const ca = await loadDeviceCa(o.dir);
      const server = await issueServerCertificate(ca, { hostnames: o.host, nowSeconds: nowSeconds(), days: o.days });
      await writeFileAtomic(`${o.out}.crt`, server.certificatePem, 0o644);
      await writeFileAtomic(`${o.out}.key`, server.keyPem, 0o600);
      process.stdout.write(`wrote ${o.out}.crt (${o.host.join(', ')}) and ${o.out}.key (mode 0600)\n`);
    });

  certs.command('crl')
    .description('write the CRL revoking every unexpired certificate of the given devices; rewrite it on every revocation and before it expires, then SIGHUP the broker')
    .requiredOption('--dir <dir>', 'the device CA')
    .option('--device <id>', 'a revoked device (repeat or comma-separate)', collect, [])
    .option('--devices-file <file>', 'revoked device ids, one per line (# comments allowed)')
    .option('--hours <n>', 'validity of this CRL', integer(1, 24 * 31), DEVICE_CA_DEFAULTS.crlHours)
    .requiredOption('--out <file>', 'where to write the CRL (PEM)')
    .action(async (o: { dir: string; device: string[]; devicesFile?: string; hours: number; out: string }) => {
      const ca = await loadDeviceCa(o.dir);
      const ids = await deviceIds(o.device, o.devicesFile);
      const crl = await buildCrl(ca, ids, { nowSeconds: nowSeconds(), hours: o.hours });
      await writeFileAtomic(o.out, crl.pem, 0o644);
      process.stdout.write(`wrote ${o.out}: ${crl.revokedSerials} certificate(s) of ${ids.length} device(s) revoked, valid ${o.hours} h\n`);
    });

  certs.command('mosquitto-config')
    .description('write a Mosquitto 2.x deployment: device listener (TLS, certificates, CN as username, per-device ACL), service listener (password), queue limits for the intake')
    .requiredOption('--dir <dir>', 'the device CA')
    .requiredOption('--out <dir>', 'where to write mosquitto.conf, acl-devices, acl-services, passwd (0600)')
    .requiredOption('--server-cert <prefix>', 'the broker\'s TLS certificate and key (<prefix>.crt, <prefix>.key: fleet-ota certs server)')
    .option('--crl <file>', 'the CRL file (fleet-ota certs crl)')
    .option('--device-port <n>', 'device listener port', integer(1, 65_535), 8883)
    .option('--device-bind <address>', 'device listener address', '0.0.0.0')
    .option('--service-port <n>', 'service listener port', integer(1, 65_535), 1884)
    .option('--service-bind <address>', 'service listener address (keep it private)', '127.0.0.1')
    .option('--service-user <name>', 'the orchestrator\'s account', 'fleet-orchestrator')
    .option('--run-as <user>', 'the account Mosquitto drops to when started as root')
    .action(async (o: { dir: string; out: string; serverCert: string; crl?: string; devicePort: number; deviceBind: string; servicePort: number; serviceBind: string; serviceUser: string; runAs?: string }) => {
      const secret = process.env.FLEET_BROKER_SECRET;
      if (!secret) throw new DeviceCaError('bad_input', 'set FLEET_BROKER_SECRET to the orchestrator\'s broker password (it is hashed into the password file, never printed)');
      await loadDeviceCa(o.dir);
      const path = await writeMosquittoDeployment({
        dir: resolve(o.out), devicePort: o.devicePort, deviceBind: o.deviceBind, servicePort: o.servicePort, serviceBind: o.serviceBind,
        caFile: resolve(o.dir, DEVICE_CA_FILES.certificate), certFile: resolve(`${o.serverCert}.crt`), keyFile: resolve(`${o.serverCert}.key`),
        ...(o.crl ? { crlFile: resolve(o.crl) } : {}), services: [{ username: o.serviceUser, secret }], ...(o.runAs ? { runAsUser: o.runAs } : {}),
      });
      process.stdout.write(`wrote ${path}: devices on ${o.deviceBind}:${o.devicePort} (certificates), ${o.serviceUser} on ${o.serviceBind}:${o.servicePort} (password)\nrun: mosquitto -c ${path}\n`);
    });
}
