// The rule for FLEET_KEY_PREFIX, shared by the orchestrator's and the broker's config loaders.
// fleet-ota places its own hash tags after the prefix (state/keys.ts slotKey: per rollout, per
// device shard, per BullMQ queue) so that on a Redis Cluster the keys one script touches share a
// slot and the rest spread over the shards. Redis hashes only the first `{...}` of a key name, so
// a `{tag}` in the prefix would win over all of them: every key in one slot, one shard doing all
// the work. A brace is therefore refused, with that reason, instead of accepted as a
// single-slot mode nobody could scale out of.

export const KEY_PREFIX_MAX_LENGTH = 64;
const KEY_PREFIX = /^[A-Za-z0-9:._-]+$/;

/** Why `prefix` cannot be a key prefix, or undefined when it can. */
export function keyPrefixProblem(prefix: string): string | undefined {
  if (prefix.length === 0 || prefix.length > KEY_PREFIX_MAX_LENGTH) return `1-${KEY_PREFIX_MAX_LENGTH} characters`;
  if (/[{}]/.test(prefix)) {
    return 'no "{" or "}": fleet-ota puts its own Redis Cluster hash tags after the prefix, and a {tag} in the prefix would put every key in one slot (one shard)';
  }
  if (!KEY_PREFIX.test(prefix)) return 'letters, digits, ":", ".", "_", "-"';
  return undefined;
}
