// Every per-device transition is one Lua script (atomic in Redis), like BullMQ's own scripts.
// The state order comes from protocol/states.ts so TypeScript and Lua cannot disagree.
import type { Redis } from 'ioredis';
import { STATE_RANK, TERMINAL_STATES } from '../../protocol/index.js';
import { DEVICE_HISTORY_MAX_ENTRIES } from './device-history.js';

const rankTable = `{${Object.entries(STATE_RANK).map(([s, r]) => `${s}=${r}`).join(',')}}`;
const terminalTable = `{${[...TERMINAL_STATES].map((s) => `${s}=true`).join(',')}}`;

// Shared Lua helpers: entry codec, counter moves on the rollout and wave count hashes, and the
// device history append (device-history.ts) that every transition makes in the same script.
const common = `
local RANK = ${rankTable}
local TERMINAL = ${terminalTable}
local HISTORY_MAX = ${DEVICE_HISTORY_MAX_ENTRIES}
-- Redis' clock, so entries written by any process order correctly.
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function history(key, rid, from, to, reason, source, detail)
  local entry = { ms = nowMs(), rolloutId = rid, from = from, state = to, source = source, detail = detail }
  if reason and reason ~= '' then entry.reason = reason end
  redis.call('LPUSH', key, cjson.encode(entry))
  redis.call('LTRIM', key, 0, HISTORY_MAX - 1)
end
-- Multi-device scripts find each device's history key from the prefix, as they do its record
-- (settleWave reads its members inside the script, so they cannot be declared up front).
local function historyKey(prefix, id)
  return prefix .. 'device:' .. id .. ':history'
end
local function parse(packed)
  if not packed then return nil end
  local s, w, c, p, r = string.match(packed, '^([^|]*)|([^|]*)|([^|]*)|([^|]*)|(.*)$')
  return { state = s, wave = tonumber(w), counter = tonumber(c), progress = tonumber(p), reason = r }
end
local function pack(e)
  return e.state .. '|' .. e.wave .. '|' .. e.counter .. '|' .. e.progress .. '|' .. (e.reason or '')
end
local function move(base, wave, from, to, reason)
  local wc = base .. ':wave:' .. wave .. ':counts'
  local rc = base .. ':counts'
  if from then
    redis.call('HINCRBY', wc, from, -1)
    redis.call('HINCRBY', rc, from, -1)
  end
  redis.call('HINCRBY', wc, to, 1)
  redis.call('HINCRBY', rc, to, 1)
  if reason and reason ~= '' then
    redis.call('HINCRBY', wc, 'reason:' .. reason, 1)
    redis.call('HINCRBY', rc, 'reason:' .. reason, 1)
  end
end
`;

/**
 * prepareSlice(prefix, rolloutId, rolloutSeq, now, ids...) -> counter, issuedAt per device
 * (counter 0 = skip this device). Allocates each device's directive counter once (strictly increasing per device, kept
 * on the device record), records when its directive was issued (so it can be re-signed
 * byte-identical, and renewed before it expires), and settles which rollout owns the device:
 * the newer one supersedes.
 */
const prepareSlice = `${common}
local prefix, rid, rseq, now = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local base = prefix .. 'rollout:' .. rid
local out = {}
for i = 5, #ARGV do
  local id = ARGV[i]
  local e = parse(redis.call('HGET', base .. ':devices', id))
  local counter, issuedAt = 0, now
  if e and not TERMINAL[e.state] then
    local dev = prefix .. 'device:' .. id
    local owner = redis.call('HGET', dev, 'rolloutId')
    local ownerSeq = tonumber(redis.call('HGET', dev, 'rolloutSeq') or '0')
    if owner and owner ~= rid and ownerSeq > rseq then
      move(base, e.wave, e.state, 'canceled', 'superseded')
      history(historyKey(prefix, id), rid, e.state, 'canceled', 'superseded', 'engine')
      e.state = 'canceled'; e.reason = 'superseded'
      redis.call('HSET', base .. ':devices', id, pack(e))
    else
      if owner and owner ~= rid then
        local obase = prefix .. 'rollout:' .. owner
        local oe = parse(redis.call('HGET', obase .. ':devices', id))
        if oe and not TERMINAL[oe.state] then
          move(obase, oe.wave, oe.state, 'canceled', 'superseded')
          history(historyKey(prefix, id), owner, oe.state, 'canceled', 'superseded', 'engine')
          oe.state = 'canceled'; oe.reason = 'superseded'
          redis.call('HSET', obase .. ':devices', id, pack(oe))
        end
      end
      redis.call('HSET', dev, 'rolloutId', rid, 'rolloutSeq', rseq)
      if e.counter == 0 then
        e.counter = redis.call('HINCRBY', dev, 'directiveCounter', 1)
        redis.call('HSET', base .. ':devices', id, pack(e))
        redis.call('HSET', base .. ':issued', id, now)
      end
      counter = e.counter
      -- A retried slice re-signs the same directive: same counter, same issue time.
      issuedAt = redis.call('HGET', base .. ':issued', id) or now
    end
  end
  out[#out + 1] = counter
  out[#out + 1] = tonumber(issuedAt)
end
return out
`;

/**
 * markNotified(prefix, rolloutId, wave, sliceIndex, slices, now, ids...) -> 1 if the wave is now
 * fully notified. queued -> notified per device; slice completion recorded in a set, so a
 * retried slice job counts once.
 */
const markNotified = `${common}
local prefix, rid, wave, slice, slices, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5]), ARGV[6]
local base = prefix .. 'rollout:' .. rid
for i = 7, #ARGV do
  local id = ARGV[i]
  local e = parse(redis.call('HGET', base .. ':devices', id))
  if e and e.state == 'queued' and e.counter > 0 then
    move(base, e.wave, 'queued', 'notified', nil)
    history(historyKey(prefix, id), rid, 'queued', 'notified', nil, 'engine')
    e.state = 'notified'
    redis.call('HSET', base .. ':devices', id, pack(e))
  end
end
redis.call('SADD', base .. ':wave:' .. wave .. ':slices-done', slice)
if redis.call('SCARD', base .. ':wave:' .. wave .. ':slices-done') >= slices then
  local wkey = base .. ':wave:' .. wave
  if redis.call('HGET', wkey, 'status') == 'notifying' then
    redis.call('HSET', wkey, 'status', 'baking', 'notifiedAt', now)
    return 1
  end
end
return 0
`;

/**
 * applyStatus(KEYS: historyKey; ARGV: prefix, deviceId, rolloutId, counter, seq, state, progress,
 * reason, at, releaseId, sequence, rootVersion, epoch?) -> { outcome, wave }. A state change is appended
 * to the device's history with the report's details. A report applies once, in order: a seq already
 * seen in its epoch or an older epoch (refused: stale | stale_epoch, recorded on the device), a counter of another directive, a backwards move or anything after a terminal state
 * changes nothing (docs/protocol.md#device-states).
 */
const applyStatus = `${common}
local prefix, id, rid, counter, seq, state, progress, reason, at = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6], tonumber(ARGV[7]), ARGV[8], ARGV[9]
local dev = prefix .. 'device:' .. id
-- protocol's reportOrder: seq counts within an epoch; epochs only move forward.
local epoch = tonumber(ARGV[13] or '0')
local pos = redis.call('HMGET', dev, 'statusEpoch', 'statusSeq')
local lastEpoch, last = tonumber(pos[1] or '0'), tonumber(pos[2] or '-1')
local order = (epoch > lastEpoch and 'newer') or (epoch < lastEpoch and 'stale_epoch') or (seq > last and 'newer') or 'stale'
if order ~= 'newer' then
  -- Shown on the device (GET /v1/devices/:id) and counted, never a silent drop.
  redis.call('HINCRBY', dev, 'statusRefusedCount', 1)
  redis.call('HSET', dev, 'statusRefused', cjson.encode({ reason = order, rolloutId = rid, counter = counter, epoch = epoch, seq = seq, lastEpoch = lastEpoch, lastSeq = last, at = at }))
  return { order, -1 }
end
redis.call('HSET', dev, 'statusEpoch', epoch, 'statusSeq', seq, 'lastSeenAt', at, 'installedReleaseId', ARGV[10], 'installedSequence', ARGV[11], 'rootVersion', ARGV[12],
  'lastStatus', cjson.encode({ rolloutId = rid, state = state, reason = (reason ~= '' and reason or nil), at = at }))
local base = prefix .. 'rollout:' .. rid
local e = parse(redis.call('HGET', base .. ':devices', id))
if not e then return { 'unknown_rollout', -1 } end
if e.counter ~= counter then return { 'other_directive', e.wave } end
local from = e.state
if TERMINAL[from] then return { 'after_terminal', e.wave } end
-- The device holds a directive that outlived its TTL (it was away, or deferred past it): not
-- an outcome of the rollout but a request for a fresh directive, which the caller issues.
if state == 'rejected' and reason == 'directive_expired' then return { 'expired', e.wave } end
local forward = RANK[state] > RANK[from] or (from == 'deferred' and state == 'accepted') or (from == 'downloading' and state == 'downloading' and progress > e.progress)
if not forward then return { 'backwards', e.wave } end
if from ~= state then
  move(base, e.wave, from, state, reason)
  history(KEYS[1], rid, from, state, reason, 'report', { seq = seq, counter = counter, progress = progress, reportedAt = at, installedReleaseId = ARGV[10], installedSequence = tonumber(ARGV[11]) })
end
e.state = state; e.progress = progress; e.reason = reason
redis.call('HSET', base .. ':devices', id, pack(e))
return { 'applied', e.wave }
`;

/**
 * settleWave(prefix, rolloutId, wave, toState, reason) -> ids that had been notified. Moves every
 * non-terminal device of the wave to timed_out or canceled.
 */
const settleWave = `${common}
local prefix, rid, wave, to, reason = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local base = prefix .. 'rollout:' .. rid
local ids = redis.call('LRANGE', base .. ':wave:' .. wave .. ':members', 0, -1)
local notified = {}
for _, id in ipairs(ids) do
  local e = parse(redis.call('HGET', base .. ':devices', id))
  if e and not TERMINAL[e.state] then
    if e.state ~= 'queued' then notified[#notified + 1] = id end
    move(base, e.wave, e.state, to, reason)
    history(historyKey(prefix, id), rid, e.state, to, reason, 'engine')
    e.state = to; e.reason = reason
    redis.call('HSET', base .. ':devices', id, pack(e))
  end
end
return notified
`;

/**
 * reissue(prefix, rolloutId, issuedAt, id1, counter1, id2, counter2, ...) -> new counters (0 =
 * skip). A fresh install directive for each device still unsettled in this rollout and still
 * holding `counterN` (a report or another reissue in between wins): a new counter, a new issue
 * time, and the entry back to `notified`, since the device starts over on the new directive.
 */
const reissue = `${common}
local prefix, rid, issuedAt = ARGV[1], ARGV[2], ARGV[3]
local base = prefix .. 'rollout:' .. rid
local out = {}
for i = 4, #ARGV, 2 do
  local id, expected = ARGV[i], tonumber(ARGV[i + 1])
  local e = parse(redis.call('HGET', base .. ':devices', id))
  local dev = prefix .. 'device:' .. id
  local counter = 0
  if e and e.counter == expected and e.counter > 0 and e.state ~= 'queued' and not TERMINAL[e.state] and redis.call('HGET', dev, 'rolloutId') == rid then
    counter = redis.call('HINCRBY', dev, 'directiveCounter', 1)
    if e.state ~= 'notified' then move(base, e.wave, e.state, 'notified', nil) end
    history(historyKey(prefix, id), rid, e.state, 'notified', 'reissued', 'engine')
    e.state = 'notified'; e.counter = counter; e.progress = 0; e.reason = ''
    redis.call('HSET', base .. ':devices', id, pack(e))
    redis.call('HSET', base .. ':issued', id, issuedAt)
  end
  out[#out + 1] = counter
end
return out
`;

/**
 * cancelCounters(prefix, rolloutId, ids...) -> counters (0 = skip). A cancel is a new directive:
 * a fresh counter per device, so it is not a replay; none for a device a newer rollout owns,
 * whose retained install the cancel would otherwise replace.
 */
const cancelCounters = `
local prefix, rid = ARGV[1], ARGV[2]
local out = {}
for i = 3, #ARGV do
  local dev = prefix .. 'device:' .. ARGV[i]
  local owner = redis.call('HGET', dev, 'rolloutId')
  if owner == false or owner == rid then out[#out + 1] = redis.call('HINCRBY', dev, 'directiveCounter', 1) else out[#out + 1] = 0 end
end
return out
`;

/**
 * pace(key, costMs, horizonMs) -> 0 to go now, else milliseconds to wait. A per-key pacer on
 * Redis' clock (every engine process shares it): each grant pushes the key's next free time
 * `costMs` on, and time not used is not saved up, so work that piled up while Redis or the
 * workers were away is spread out again instead of released at once.
 */
const pace = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local nextFree = tonumber(redis.call('GET', KEYS[1]) or '0')
if nextFree > now then return nextFree - now end
redis.call('SET', KEYS[1], now + tonumber(ARGV[1]), 'PX', tonumber(ARGV[1]) + tonumber(ARGV[2]))
return 0
`;

/** setStatus(rolloutKey, expected|'*', status, reason, updatedAt) -> 1 if changed (compare-and-set). */
const setRolloutStatus = `
local cur = redis.call('HGET', KEYS[1], 'status')
if ARGV[1] ~= '*' then
  local ok = false
  for allowed in string.gmatch(ARGV[1], '[^,]+') do if allowed == cur then ok = true end end
  if not ok then return 0 end
end
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'statusReason', ARGV[3], 'updatedAt', ARGV[4])
return 1
`;

/** casField(key, field, expected, value, extraField?, extraValue?) -> 1 if changed. */
const casField = `
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
if ARGV[4] and ARGV[4] ~= '' then redis.call('HSET', KEYS[1], ARGV[4], ARGV[5]) end
return 1
`;

export interface RolloutScripts {
  prepareSlice(...args: (string | number)[]): Promise<number[]>;
  markNotified(...args: (string | number)[]): Promise<number>;
  /** The first argument is the device's history key (device-history.ts), declared in KEYS. */
  applyStatus(historyKey: string, ...args: (string | number)[]): Promise<[string, number]>;
  settleWave(...args: (string | number)[]): Promise<string[]>;
  reissue(...args: (string | number)[]): Promise<number[]>;
  cancelCounters(...args: (string | number)[]): Promise<number[]>;
  pace(key: string, costMs: number, horizonMs: number): Promise<number>;
  setRolloutStatus(key: string, ...args: (string | number)[]): Promise<number>;
  casField(key: string, ...args: (string | number)[]): Promise<number>;
}

const definitions = { prepareSlice, markNotified, settleWave, reissue, cancelCounters } as const;
const keyed = { setRolloutStatus, casField, pace, applyStatus } as const;

/** Registers the scripts on a connection (EVALSHA with automatic EVAL fallback). */
export function rolloutScripts(redis: Redis): RolloutScripts {
  const target = redis as unknown as Record<string, unknown>;
  for (const [name, lua] of Object.entries(definitions)) {
    if (typeof target[name] !== 'function') redis.defineCommand(name, { numberOfKeys: 0, lua });
  }
  for (const [name, lua] of Object.entries(keyed)) {
    if (typeof target[name] !== 'function') redis.defineCommand(name, { numberOfKeys: 1, lua });
  }
  return redis as unknown as RolloutScripts;
}
