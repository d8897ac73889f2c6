// The application services route plugins reach through `app.services`: registry, releases,
// artifacts and roots, bound to one Redis connection and key prefix. No HTTP here.
import type { RedisClient as Redis } from '../../state/redis.js';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import { createFsArtifactStore } from '../artifacts/fs-store.js';
import type { OrchestratorConfig } from '../config.js';
import { createKeyChecker, type KeyChecker } from '../registry/key-checker.js';
import { createRegistry, type Registry } from '../registry/registry.js';
import { importRelease } from '../releases/import-release.js';
import { createReleaseStore, type ReleaseStore, type StoredRelease } from '../releases/release-store.js';
import { createRootStore, type RootStore } from '../releases/root-store.js';

export interface Releases extends ReleaseStore {
  /** Checks and stores a release envelope signed offline (import-release.ts). */
  import(input: unknown): Promise<StoredRelease>;
}

export interface Services {
  registry: Registry;
  releases: Releases;
  artifacts: ArtifactStore;
  roots: RootStore;
}

export interface ServiceDeps {
  redis: Redis;
  prefix: string;
  config: OrchestratorConfig;
  artifactStore?: ArtifactStore;
  keyChecker?: KeyChecker;
  now?: () => Date;
}

export function createServices(deps: ServiceDeps): Services & { close(): Promise<void> } {
  const now = deps.now ?? (() => new Date());
  const keyChecker = deps.keyChecker ?? createKeyChecker({ mode: deps.config.importKeyCheck, workers: deps.config.importKeyWorkers });
  const artifacts = deps.artifactStore ?? createFsArtifactStore(deps.config.dataDir);
  const roots = createRootStore(deps.redis, deps.prefix, now);
  const store = createReleaseStore(deps.redis, deps.prefix);
  const releases: Releases = { ...store, import: (input) => importRelease(input, { releases: store, roots, artifacts, now }) };
  const registry = createRegistry({ redis: deps.redis, prefix: deps.prefix, keyChecker, now });
  return {
    registry,
    releases,
    artifacts,
    roots,
    // Only what this factory created is closed here.
    close: async () => {
      if (!deps.keyChecker) await keyChecker.close();
    },
  };
}
