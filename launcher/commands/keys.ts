// `fleet-ota keys ...`: offline key tooling (key sets, root versions, release signing). Thin:
// parses options and prints results; the work is in orchestrator/keys/. Never prints secrets.
import { InvalidArgumentError, type Command } from 'commander';
import { parseWireTime, ROLES, type Role } from '../../protocol/index.js';
import { INIT_DEFAULTS, initKeySet } from '../../orchestrator/keys/init-key-set.js';
import { loadKeySet } from '../../orchestrator/keys/key-set.js';
import { NEXT_ROOT_DEFAULTS, resolveKeyid, writeNextRoot, type NextRootResult } from '../../orchestrator/keys/next-root.js';
import { signReleaseManifest } from '../../orchestrator/keys/release-signing.js';
import { signRootFile } from '../../orchestrator/keys/sign-root.js';
import { initOwnerKey, writeOwnershipRecord, type OwnershipResult } from '../../orchestrator/keys/owner-keys.js';
import { usageError } from '../../orchestrator/keys/errors.js';

/** Parser for an integer option with a lower bound (commander turns the error into exit 2). */
function integer(min: number): (value: string) => number {
  return (value) => {
    if (!/^\d{1,15}$/.test(value) || Number(value) < min) throw new InvalidArgumentError(`expected an integer >= ${min}`);
    return Number(value);
  };
}

function role(value: string): Role {
  if (!(ROLES as readonly string[]).includes(value)) throw new InvalidArgumentError(`expected one of ${ROLES.join(', ')}`);
  return value as Role;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function print(json: boolean | undefined, result: unknown, lines: string[]): void {
  process.stdout.write(json ? `${JSON.stringify(result, null, 2)}\n` : `${lines.join('\n')}\n`);
}

function short(keyid: string): string {
  return keyid.slice(0, 16);
}

function nextRootLines(result: NextRootResult): string[] {
  const { root } = result;
  return [
    ...result.added.map((k) => `created ${k.file}  ${k.role} key ${short(k.keyid)} (mode 0600)`),
    ...result.removed.map((id) => `removed key ${short(id)} from the role (its key file is kept; delete it once v${root.version} is deployed)`),
    `wrote ${root.file}  root v${root.version}, expires ${root.expiresAt}, ${root.signatures} signature(s)`,
    `  thresholds: ${Object.entries(root.thresholds).map(([r, t]) => `${r} ${t}`).join(', ')}`,
    root.complete ? '  verified against the previous root (its threshold and its own)' : `  NOT yet valid: ${root.problem}; add signatures with fleet-ota keys sign-root`,
  ];
}

export function registerKeysCommands(program: Command): void {
  // `sign-release --version <semver>` must reach the subcommand, not print the program's own
  // version: program options are read only before the subcommand name.
  program.enablePositionalOptions();
  const keys = program.command('keys').description('manage root, release and director keys offline (no server is contacted)');

  keys.command('init')
    .description('create a key set: root, release and director private keys (0600) and root v1 signed by every root key')
    .requiredOption('--dir <dir>', 'directory for the key set')
    .option('--root-keys <n>', 'number of root keys', integer(1), INIT_DEFAULTS.rootKeys)
    .option('--root-threshold <k>', 'root signatures required', integer(1), INIT_DEFAULTS.rootThreshold)
    .option('--release-keys <n>', 'number of release keys', integer(1), INIT_DEFAULTS.releaseKeys)
    .option('--release-threshold <k>', 'release signatures required', integer(1), INIT_DEFAULTS.releaseThreshold)
    .option('--director-keys <n>', 'number of director keys', integer(1), INIT_DEFAULTS.directorKeys)
    .option('--director-threshold <k>', 'director signatures required', integer(1), INIT_DEFAULTS.directorThreshold)
    .option('--expires-days <days>', 'root v1 lifetime in days', integer(1), INIT_DEFAULTS.expiresDays)
    .option('--force', 'replace an existing key set in --dir')
    .option('--json', 'print the result as JSON')
    .action(async (o: { dir: string; rootKeys: number; rootThreshold: number; releaseKeys: number; releaseThreshold: number; directorKeys: number; directorThreshold: number; expiresDays: number; force?: boolean; json?: boolean }) => {
      const result = await initKeySet({ ...o, force: o.force === true });
      print(o.json, result, [
        ...result.keys.map((k) => `created ${k.file}  ${k.role} key ${short(k.keyid)} (mode 0600)`),
        `wrote ${result.root.file}  root v1, expires ${result.root.expiresAt}, signed by all ${result.keys.filter((k) => k.role === 'root').length} root keys`,
        `  thresholds: ${Object.entries(result.root.thresholds).map(([r, t]) => `${r} ${t}`).join(', ')}`,
        `Keep the root keys offline (one per officer); the orchestrator needs only ${result.keys.find((k) => k.role === 'director')?.file}.`,
      ]);
    });

  keys.command('rotate')
    .description('replace or add a key of a role: writes new key file(s) and root v(N+1) signed by the old and the new root threshold')
    .requiredOption('--dir <dir>', 'the key set')
    .requiredOption('--role <role>', 'root, release or director', role)
    .option('--replace <keyid|file>', 'replace this one key (keyid, 8+ char keyid prefix, or its key file); default: replace every key of the role')
    .option('--add', 'add a new key, keeping the current ones')
    .option('--threshold <k>', 'new threshold for the role', integer(1))
    .option('--expires-days <days>', 'new root lifetime in days', integer(1), NEXT_ROOT_DEFAULTS.expiresDays)
    .option('--partial', 'write the new root even if the root keys held here cannot meet both thresholds')
    .option('--json', 'print the result as JSON')
    .action(async (o: { dir: string; role: Role; replace?: string; add?: boolean; threshold?: number; expiresDays: number; partial?: boolean; json?: boolean }) => {
      if (o.replace !== undefined && o.add) throw usageError('--replace and --add exclude each other');
      const keySet = await loadKeySet(o.dir);
      const current = keySet.trusted.envelope.signed;
      const remove = o.add ? [] : o.replace !== undefined ? [resolveKeyid(keySet, current, o.role, o.replace)] : [...current.roles[o.role].keyids];
      const add = o.add || o.replace !== undefined ? 1 : remove.length;
      const result = await writeNextRoot({ dir: o.dir, change: { role: o.role, remove, add, threshold: o.threshold }, expiresDays: o.expiresDays, partial: o.partial === true });
      print(o.json, result, nextRootLines(result));
    });

  keys.command('revoke')
    .description('remove a key from a role: writes root v(N+1) without it (refused if the threshold could no longer be met)')
    .requiredOption('--dir <dir>', 'the key set')
    .requiredOption('--role <role>', 'root, release or director', role)
    .requiredOption('--keyid <keyid|file>', 'the key to revoke (keyid, 8+ char keyid prefix, or its key file)')
    .option('--threshold <k>', 'new threshold for the role', integer(1))
    .option('--expires-days <days>', 'new root lifetime in days', integer(1), NEXT_ROOT_DEFAULTS.expiresDays)
    .option('--partial', 'write the new root even if the root keys held here cannot meet both thresholds')
    .option('--json', 'print the result as JSON')
    .action(async (o: { dir: string; role: Role; keyid: string; threshold?: number; expiresDays: number; partial?: boolean; json?: boolean }) => {
      const keySet = await loadKeySet(o.dir);
      const keyid = resolveKeyid(keySet, keySet.trusted.envelope.signed, o.role, o.keyid);
      const result = await writeNextRoot({ dir: o.dir, change: { role: o.role, remove: [keyid], add: 0, threshold: o.threshold }, expiresDays: o.expiresDays, partial: o.partial === true });
      print(o.json, result, nextRootLines(result));
    });

  keys.command('sign-root')
    .description("add root key signatures to a root file (k-of-n: one officer's key at a time)")
    .requiredOption('--dir <dir>', 'the key set holding the previous root')
    .requiredOption('--root <file>', 'root file to sign (rewritten in place)')
    .requiredOption('--key <file>', 'root private key file (repeatable)', collect, [])
    .option('--json', 'print the result as JSON')
    .action(async (o: { dir: string; root: string; key: string[]; json?: boolean }) => {
      const result = await signRootFile({ dir: o.dir, root: o.root, keys: o.key });
      print(o.json, result, [
        `signed ${result.file}  root v${result.version}: added ${result.added.length} signature(s), ${result.signatures} in all`,
        result.complete ? '  complete: the root verifies' : `  not yet valid: ${result.problem}`,
      ]);
    });

  keys.command('sign-release')
    .description('build and sign a release manifest offline; hashes the artifact as it streams')
    .requiredOption('--key <file>', 'release private key file (repeatable)', collect, [])
    .option('--artifact <file>', 'the image to hash')
    .option('--sha256 <hex>', 'payload SHA-256, instead of --artifact')
    .option('--size <bytes>', 'payload size, instead of --artifact', integer(0))
    .requiredOption('--uri <url>', 'where devices download the payload (http or https)')
    .requiredOption('--release-id <id>', 'release id')
    .requiredOption('--version <semver>', 'semantic version')
    .requiredOption('--sequence <n>', 'anti-rollback sequence for the vendor/class', integer(0))
    .requiredOption('--vendor <id>', 'vendor id')
    .requiredOption('--class <id>', 'hardware class id')
    .option('--min-sequence <n>', 'lowest installed sequence this release applies on top of', integer(0))
    .option('--expires-days <days>', 'manifest lifetime in days (default: no expiry)', integer(1))
    .option('--device <id>', 'a device the manifest authorizes (repeatable; required with --as-owner)', collect, [])
    .option('--as-owner', 'sign as a device owner (owner key files, see keys owner-init) for owner-mode devices')
    .requiredOption('--out <file>', 'manifest file to write (0644)')
    .option('--force', 'replace --out if it exists')
    .option('--json', 'print the result as JSON')
    .action(async (o: { key: string[]; artifact?: string; sha256?: string; size?: number; uri: string; releaseId: string; version: string; sequence: number; vendor: string; class: string; minSequence?: number; expiresDays?: number; device: string[]; asOwner?: boolean; out: string; force?: boolean; json?: boolean }) => {
      const result = await signReleaseManifest({
        keys: o.key, artifact: o.artifact, sha256: o.sha256, size: o.size, uri: o.uri, releaseId: o.releaseId, version: o.version,
        sequence: o.sequence, vendorId: o.vendor, classId: o.class, minSequence: o.minSequence, expiresDays: o.expiresDays, out: o.out, force: o.force === true,
        devices: o.device, asOwner: o.asOwner === true,
      });
      print(o.json, result, [
        `wrote ${result.out}  release ${result.release.releaseId} ${result.release.version} (sequence ${result.release.sequence}) for ${result.release.vendorId}/${result.release.classId}${result.release.devices ? `, devices ${result.release.devices.join(', ')}` : ''}`,
        `  payload sha256 ${result.release.payload.sha256}, ${result.release.payload.size} bytes`,
        `  manifest digest ${result.manifestSha256}, signed by ${result.signedBy.map(short).join(', ')}`,
      ]);
    });

  // docs/protocol.md#owner-mode: owner keys and the root-signed records that enrol, transfer or revoke them.
  keys.command('owner-init')
    .description("create a device owner's key: private file (0600) and a public file (0644) to hand to the vendor's root officers")
    .requiredOption('--out <file>', 'private key file to write')
    .option('--force', 'replace existing files')
    .option('--json', 'print the result as JSON')
    .action(async (o: { out: string; force?: boolean; json?: boolean }) => {
      const result = await initOwnerKey({ out: o.out, force: o.force === true });
      print(o.json, result, [
        `created ${result.keyFile}  owner key ${short(result.keyid)} (mode 0600; keep it private)`,
        `wrote ${result.publicFile}  public key ${result.publicKey} (give this to enrol your devices)`,
      ]);
    });

  const ownershipLines = (verb: string, r: OwnershipResult): string[] => [
    `wrote ${r.out}  ownership v${r.record.version} of ${r.record.deviceId}: ${verb}${r.ownerKeyid ? ` owner key ${short(r.ownerKeyid)}` : ''}`,
    r.complete ? `  root threshold met (${r.signatures} of ${r.threshold}); publish it with the device's next directive` : `  NOT yet valid: ${r.signatures} of ${r.threshold} root signatures`,
  ];
  const ownershipCommand = (name: string, description: string) => keys.command(name)
    .description(description)
    .requiredOption('--dir <dir>', 'the key set (its current root says which root keys count)')
    .requiredOption('--root-key <file>', 'root private key file (repeatable, up to the root threshold)', collect, [])
    .requiredOption('--out <file>', 'ownership record file to write (0644)')
    .option('--force', 'replace --out if it exists')
    .option('--json', 'print the result as JSON');

  ownershipCommand('owner-enrol', 'enrol a device in owner mode: ownership record v1 naming the device and its owner key, signed by root keys')
    .requiredOption('--device <id>', 'the device')
    .requiredOption('--owner-key <file|base64url>', "the owner's public key (its .pub.json file, or the key itself)")
    .action(async (o: { dir: string; rootKey: string[]; out: string; device: string; ownerKey: string; force?: boolean; json?: boolean }) => {
      const result = await writeOwnershipRecord({ dir: o.dir, rootKeys: o.rootKey, out: o.out, deviceId: o.device, ownerKey: o.ownerKey, force: o.force === true });
      print(o.json, result, ownershipLines('enrolled to', result));
    });

  ownershipCommand('owner-transfer', 'transfer a device to another owner key: the next ownership version, signed by root keys')
    .requiredOption('--previous <file>', "the device's current ownership record")
    .requiredOption('--owner-key <file|base64url>', "the new owner's public key")
    .action(async (o: { dir: string; rootKey: string[]; out: string; previous: string; ownerKey: string; force?: boolean; json?: boolean }) => {
      const result = await writeOwnershipRecord({ dir: o.dir, rootKeys: o.rootKey, out: o.out, previous: o.previous, ownerKey: o.ownerKey, force: o.force === true });
      print(o.json, result, ownershipLines('transferred to', result));
    });

  ownershipCommand('owner-revoke', 'revoke the owner key of a device (stolen or lost): the next ownership version names no owner')
    .requiredOption('--previous <file>', "the device's current ownership record")
    .action(async (o: { dir: string; rootKey: string[]; out: string; previous: string; force?: boolean; json?: boolean }) => {
      const result = await writeOwnershipRecord({ dir: o.dir, rootKeys: o.rootKey, out: o.out, previous: o.previous, force: o.force === true });
      print(o.json, result, ownershipLines('owner key revoked', result));
    });

  keys.command('show')
    .description('list the key ids, roles and root versions of a key set (no secrets)')
    .requiredOption('--dir <dir>', 'the key set')
    .option('--json', 'print the result as JSON')
    .action(async (o: { dir: string; json?: boolean }) => {
      const keySet = await loadKeySet(o.dir);
      const current = keySet.trusted.envelope.signed;
      const keyList = keySet.keys.map((k) => ({
        file: k.file, role: k.role, keyid: k.keyid, mode: `0${k.mode.toString(8)}`, inCurrentRoot: current.roles[k.role].keyids.includes(k.keyid),
      }));
      const roots = keySet.roots.map((r) => ({
        file: r.file, version: r.version, verified: r.verified, expiresAt: r.envelope.signed?.expiresAt,
        expired: (parseWireTime(r.envelope.signed?.expiresAt ?? '') ?? 0) <= Date.now() / 1000, signatures: r.envelope.signatures?.length ?? 0,
        ...(r.problem ? { problem: r.problem } : {}),
      }));
      const roles = Object.fromEntries(ROLES.map((name) => [name, { threshold: current.roles[name].threshold, keyids: current.roles[name].keyids }]));
      const result = { dir: o.dir, currentRoot: current.version, roles, keys: keyList, roots };
      print(o.json, result, [
        `key set ${o.dir}: current root v${current.version}`,
        ...ROLES.map((name) => `  ${name}: ${current.roles[name].threshold} of ${current.roles[name].keyids.length} (${current.roles[name].keyids.map(short).join(', ')})`),
        'keys:',
        ...keyList.map((k) => `  ${k.file.padEnd(16)} ${k.role.padEnd(8)} ${short(k.keyid)}  ${k.mode}${k.inCurrentRoot ? '' : '  (not in the current root)'}`),
        'roots:',
        ...roots.map((r) => `  ${r.file.padEnd(16)} v${r.version} expires ${r.expiresAt}${r.expired ? ' (EXPIRED)' : ''}, ${r.signatures} signature(s)${r.verified ? '' : `  NOT VERIFIED: ${r.problem ?? 'after an unverified root'}`}`),
      ]);
    });
}
