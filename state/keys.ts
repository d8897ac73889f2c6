// Key naming for Redis Cluster: `{tag}` is a hash tag (only the part inside the first braces
// picks the slot), so keys that one Lua script or MULTI touches share a tag, and unrelated
// groups (one rollout, one device shard, one BullMQ queue) get tags of their own and spread
// over the shards. On a single Redis the braces are just characters.

/** `${prefix}{${tag}}:${parts...}`: a key in the slot of `tag`. */
export function slotKey(prefix: string, tag: string, ...parts: Array<string | number>): string {
  return parts.length === 0 ? `${prefix}{${tag}}` : `${prefix}{${tag}}:${parts.join(':')}`;
}
