// Every atomic change of rollout state is one Lua script, like BullMQ's own scripts, and every
// script touches one Redis Cluster slot: either one rollout's keys (tag `ro:<id>`) or the keys
// of devices of one device shard (tag `dev:<shard>`), all declared in KEYS (keys.ts names them).
// An operation that needs both (a device's counter and its rollout entry) is a rollout step and
// a device step, each idempotent, ordered so that a retry after a crash between them completes
// it (rollout-state.ts, status-apply.ts say the order). The state order comes from
// protocol/states.ts so TypeScript and Lua cannot disagree.
import type { ChainableCommander } from 'ioredis';
import type { RedisClient as Redis } from '../redis.js';
import { STATE_RANK, TERMINAL_STATES } from '../../protocol/index.js';
import { COUNTER_LUA } from '../registry/fleet-counters.js';
import { DEVICE_HISTORY_MAX_ENTRIES } from './device-history.js';
import { rolloutKeys } from './keys.js';
import { MARK_CHANGED_LUA } from '../registry/device-changes.js';

const rankTable = `{${Object.entries(STATE_RANK).map(([s, r]) => `${s}=${r}`).join(',')}}`;
const terminalTable = `{${[...TERMINAL_STATES].map((s) => `${s}=true`).join(',')}}`;

/** Recent entries of a device's history an outbox copy is compared with (a retried copy adds nothing). */
const HISTORY_DEDUPE_DEPTH = 16;

const shared = `
local RANK = ${rankTable}
local TERMINAL = ${terminalTable}
local HISTORY_MAX = ${DEVICE_HISTORY_MAX_ENTRIES}
-- Redis' clock, so entries written by any process order correctly.
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`;

// ---- rollout slot --------------------------------------------------------------------------
// KEYS (rolloutScriptKeys): 1 head, 2 devices, 3 counts, 4 issued, 5 reports, 6 history outbox,
// 7 wave head, 8 wave members, 9 wave slices-done (of the wave the call names; wave 0 otherwise),
// 10 in flight (devices admitted under maxInFlight and not yet settled, scored by admission time).
const rolloutSide = `${shared}
local HEAD, DEVICES, COUNTS, ISSUED, REPORTS, OUTBOX, INFLIGHT = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[10]
local function parse(packed)
  if not packed then return nil end
  local s, w, c, p, r = string.match(packed, '^([^|]*)|([^|]*)|([^|]*)|([^|]*)|(.*)$')
  return { state = s, wave = tonumber(w), counter = tonumber(c), progress = tonumber(p), reason = r }
end
local function pack(e)
  return e.state .. '|' .. e.wave .. '|' .. e.counter .. '|' .. e.progress .. '|' .. (e.reason or '')
end
-- Counts of the rollout and of the device's wave (fields w<n>:...) in one hash.
-- A device that settles (a terminal state) leaves the in-flight set, freeing its place (admitSlice).
local function move(wave, from, to, reason, id)
  if id and TERMINAL[to] then redis.call('ZREM', INFLIGHT, id) end
  local w = 'w' .. wave .. ':'
  if from then
    redis.call('HINCRBY', COUNTS, w .. from, -1)
    redis.call('HINCRBY', COUNTS, from, -1)
  end
  redis.call('HINCRBY', COUNTS, w .. to, 1)
  redis.call('HINCRBY', COUNTS, to, 1)
  if reason and reason ~= '' then
    redis.call('HINCRBY', COUNTS, w .. 'reason:' .. reason, 1)
    redis.call('HINCRBY', COUNTS, 'reason:' .. reason, 1)
  end
end
-- The device's history entry, written with the transition into this rollout's outbox (the
-- device's history is in another slot): appendHistory copies it there, marked so a copy
-- retried after a crash is recognised.
local function history(id, rid, from, to, reason, source)
  local mark = rid .. '#' .. redis.call('HINCRBY', HEAD, 'historySeq', 1)
  local entry = { ms = nowMs(), rolloutId = rid, from = from, state = to, source = source, m = mark }
  if reason and reason ~= '' then entry.reason = reason end
  redis.call('RPUSH', OUTBOX, id .. '\\t' .. cjson.encode(entry))
end
`;

/**
 * recordSlice(rid, now, id1, claimed1, ...) -> counter, issuedAt per device (counter 0 = skip).
 * The rollout step of a notify slice, after claimDevices: `claimed` is the device's counter for
 * this rollout, or -1 if a newer rollout owns the device (this entry is then canceled,
 * superseded). A counter is recorded once with its issue time, so a retried slice re-signs the
 * same directive byte-identical.
 */
const recordSlice = `${rolloutSide}
local rid, now = ARGV[1], ARGV[2]
local out = {}
for i = 3, #ARGV, 2 do
  local id, claimed = ARGV[i], tonumber(ARGV[i + 1])
  local e = parse(redis.call('HGET', DEVICES, id))
  local counter, issuedAt = 0, 0
  if e and not TERMINAL[e.state] then
    if claimed < 0 then
      move(e.wave, e.state, 'canceled', 'superseded', id)
      history(id, rid, e.state, 'canceled', 'superseded', 'engine')
      e.state = 'canceled'; e.reason = 'superseded'
      redis.call('HSET', DEVICES, id, pack(e))
    elseif claimed > 0 then
      if e.counter == 0 then
        e.counter = claimed
        redis.call('HSET', DEVICES, id, pack(e))
        redis.call('HSET', ISSUED, id, now)
      end
      counter = e.counter
      issuedAt = tonumber(redis.call('HGET', ISSUED, id) or now)
    end
  end
  out[#out + 1] = counter
  out[#out + 1] = issuedAt
end
return out
`;

/** supersede(rid, ids...) -> count. The older rollout's entries of devices a newer one claimed: canceled, superseded. */
const supersede = `${rolloutSide}
local rid = ARGV[1]
local n = 0
for i = 2, #ARGV do
  local id = ARGV[i]
  local e = parse(redis.call('HGET', DEVICES, id))
  if e and not TERMINAL[e.state] then
    move(e.wave, e.state, 'canceled', 'superseded', id)
    history(id, rid, e.state, 'canceled', 'superseded', 'engine')
    e.state = 'canceled'; e.reason = 'superseded'
    redis.call('HSET', DEVICES, id, pack(e))
    n = n + 1
  end
end
return n
`;

/**
 * markNotified(rid, slice, slices, now, ids...) -> 1 if the wave is now fully notified.
 * queued -> notified per device; slice completion recorded in a set, so a retried slice counts once.
 * slices = 0: the devices joined a dynamic rollout (joinWave) and belong to no slice.
 */
const markNotified = `${rolloutSide}
local WAVE, SLICES = KEYS[7], KEYS[9]
local rid, slice, slices, now = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
for i = 5, #ARGV do
  local id = ARGV[i]
  local e = parse(redis.call('HGET', DEVICES, id))
  if e and e.state == 'queued' and e.counter > 0 then
    move(e.wave, 'queued', 'notified', nil)
    -- Notifications so far (retries included): what an exponential rate ramps on.
    redis.call('HINCRBY', COUNTS, 'notifications', 1)
    history(id, rid, 'queued', 'notified', nil, 'engine')
    e.state = 'notified'
    redis.call('HSET', DEVICES, id, pack(e))
  end
end
if slices == 0 then
  -- Devices that joined a dynamic rollout (joinWave) after its wave was sliced: no slice to
  -- count; if the wave is past notifying, its bake and device timeout restart now, so the
  -- joiners get the whole device timeout and are judged with the wave.
  local status = redis.call('HGET', WAVE, 'status')
  if status == 'baking' or status == 'awaiting_approval' then redis.call('HSET', WAVE, 'notifiedAt', now) end
  return 0
end
redis.call('SADD', SLICES, slice)
if redis.call('SCARD', SLICES) >= slices then
  if redis.call('HGET', WAVE, 'status') == 'notifying' then
    redis.call('HSET', WAVE, 'status', 'baking', 'notifiedAt', now)
    return 1
  end
end
return 0
`;

/**
 * joinWave(wave, cursor, ids...) -> { wave status, joined ids... } or { 'closed' }. Dynamic
 * rollouts (docs/design.md#dynamic-rollouts): each id not yet in the rollout joins `wave` (the
 * last) queued, counted in the rollout's and the wave's counts, size and total; only while the
 * rollout is created, scheduled, running or paused, its schedule not ended, and the wave not done. `cursor` (ms, Redis' clock) is
 * how far the registry's change log has been read: kept in the head, never moved back.
 */
const joinWave = `${rolloutSide}
local WAVE, MEMBERS = KEYS[7], KEYS[8]
local wave, cursor = tonumber(ARGV[1]), tonumber(ARGV[2])
local status = redis.call('HGET', HEAD, 'status')
if status ~= 'created' and status ~= 'scheduled' and status ~= 'running' and status ~= 'paused' then return { 'closed' } end
-- A schedule that ended (endedAt, set before its queued devices are canceled) takes nobody more.
if redis.call('HEXISTS', HEAD, 'endedAt') == 1 then return { 'closed' } end
local waveStatus = redis.call('HGET', WAVE, 'status') or 'pending'
if waveStatus == 'done' then return { 'closed' } end
local out = { waveStatus }
for i = 3, #ARGV do
  local id = ARGV[i]
  if redis.call('HEXISTS', DEVICES, id) == 0 then
    redis.call('RPUSH', MEMBERS, id)
    redis.call('HSET', DEVICES, id, pack({ state = 'queued', wave = wave, counter = 0, progress = 0, reason = '' }))
    move(wave, nil, 'queued', nil)
    redis.call('HINCRBY', WAVE, 'size', 1)
    redis.call('HINCRBY', HEAD, 'total', 1)
    out[#out + 1] = id
  end
end
if cursor > tonumber(redis.call('HGET', HEAD, 'joinCursor') or '0') then redis.call('HSET', HEAD, 'joinCursor', cursor) end
return out
`;

/**
 * settleWave(rid, toState, reason, queuedOnly) -> ids that may hold a directive. Every unsettled
 * device of the wave (or, with queuedOnly '1', every queued one: a schedule's end) to timed_out
 * or canceled. A queued device with a counter was prepared by a slice in flight: it may hold one.
 */
const settleWave = `${rolloutSide}
local MEMBERS = KEYS[8]
local rid, to, reason, queuedOnly = ARGV[1], ARGV[2], ARGV[3], ARGV[4] == '1'
local ids = redis.call('LRANGE', MEMBERS, 0, -1)
local notified = {}
for _, id in ipairs(ids) do
  local e = parse(redis.call('HGET', DEVICES, id))
  if e and not TERMINAL[e.state] and (not queuedOnly or e.state == 'queued') then
    if e.state ~= 'queued' or e.counter > 0 then notified[#notified + 1] = id end
    move(e.wave, e.state, to, reason, id)
    history(id, rid, e.state, to, reason, 'engine')
    e.state = to; e.reason = reason
    redis.call('HSET', DEVICES, id, pack(e))
  end
end
return notified
`;

/**
 * recordReissue(rid, issuedAt, id1, expected1, fresh1, ...) -> counters (0 = skip). The rollout
 * step of a reissue, after reissueCounters gave each device still owned by this rollout a
 * fresh counter: taken for a device still unsettled here and still holding `expected` (a report
 * or another reissue in between wins); the entry goes back to `notified`.
 */
const recordReissue = `${rolloutSide}
local rid, issuedAt = ARGV[1], ARGV[2]
local out = {}
for i = 3, #ARGV, 3 do
  local id, expected, fresh = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  local e = parse(redis.call('HGET', DEVICES, id))
  local counter = 0
  if fresh > 0 and e and e.counter == expected and e.counter > 0 and e.state ~= 'queued' and not TERMINAL[e.state] then
    counter = fresh
    if e.state ~= 'notified' then move(e.wave, e.state, 'notified', nil) end
    history(id, rid, e.state, 'notified', 'reissued', 'engine')
    e.state = 'notified'; e.counter = counter; e.progress = 0; e.reason = ''
    redis.call('HSET', DEVICES, id, pack(e))
    redis.call('HSET', ISSUED, id, issuedAt)
  end
  out[#out + 1] = counter
end
return out
`;

/**
 * applyReports(rid, then per report: id, counter, epoch, seq, state, progress, reason) ->
 * outcome, wave, from per report. The rollout step of a status apply (status-apply.ts). Each
 * report's (epoch, seq) and result are kept per device, ordered by protocol's reportOrder: an
 * older epoch is stale_epoch, a lower seq in the same epoch stale, the same position answers
 * what it answered the first time (a batch retried after a crash), so a report applies once
 * and in order. Otherwise a counter of another directive, a backwards move or anything after a
 * terminal state changes nothing (docs/protocol.md#device-states). `from` is the state left
 * when the report moved the device to another state, else ''.
 */
const applyReports = `${rolloutSide}
local rid = ARGV[1]
local out = {}
for i = 2, #ARGV, 7 do
  local id, counter, epoch, seq, state, progress, reason = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3]), ARGV[i + 4], tonumber(ARGV[i + 5]), ARGV[i + 6]
  local outcome, wave, from = nil, -1, ''
  local last = redis.call('HGET', REPORTS, id)
  local lastEpoch, lastSeq, lastOutcome, lastWave, lastFrom
  if last then
    lastEpoch, lastSeq, lastOutcome, lastWave, lastFrom = string.match(last, '^([^|]*)|([^|]*)|([^|]*)|([^|]*)|(.*)$')
    lastEpoch, lastSeq = tonumber(lastEpoch), tonumber(lastSeq)
  end
  if last and epoch < lastEpoch then
    outcome = 'stale_epoch'
  elseif last and epoch == lastEpoch and seq < lastSeq then
    outcome = 'stale'
  elseif last and epoch == lastEpoch and seq == lastSeq then
    outcome, wave, from = lastOutcome, tonumber(lastWave), lastFrom
  else
    local e = parse(redis.call('HGET', DEVICES, id))
    if not e then
      outcome = 'unknown_rollout'
    else
      wave = e.wave
      if e.counter ~= counter then outcome = 'other_directive'
      elseif TERMINAL[e.state] then outcome = 'after_terminal'
      -- The device holds a directive that outlived its TTL (it was away, or deferred past it):
      -- not an outcome of the rollout but a request for a fresh directive, which the caller issues.
      elseif state == 'rejected' and reason == 'directive_expired' then outcome = 'expired'
      else
        local was = e.state
        local forward = RANK[state] > RANK[was] or (was == 'deferred' and state == 'accepted') or (was == 'downloading' and state == 'downloading' and progress > e.progress)
        if not forward then outcome = 'backwards'
        else
          outcome = 'applied'
          if was ~= state then
            move(e.wave, was, state, reason, id)
            from = was
          end
          e.state = state; e.progress = progress; e.reason = reason
          redis.call('HSET', DEVICES, id, pack(e))
        end
      end
      redis.call('HSET', REPORTS, id, epoch .. '|' .. seq .. '|' .. outcome .. '|' .. wave .. '|' .. from)
    end
  end
  out[#out + 1] = outcome
  out[#out + 1] = wave
  out[#out + 1] = from
end
return out
`;

/**
 * admitSlice(wave, maxInFlight, failureThreshold, now, ids...) -> 1 admitted, 0 no room yet, -1 the
 * wave's failure threshold is crossed. The blast-radius gate (orchestrator/rollouts/blast-radius.ts):
 * a slice of a wave under maxInFlight is notified only while the wave's failures are not above
 * its threshold (decide.ts's rule, on the same counts, unless the operator overrode the wave) and
 * the slice's devices fit beside those in flight. Admitted devices join the in-flight set; they
 * leave it when they settle (move). Devices already in it (a retried slice) or settled need no room.
 */
const admitSlice = `${rolloutSide}
local WAVE = KEYS[7]
local w, max, threshold, now = 'w' .. ARGV[1] .. ':', tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local head = redis.call('HMGET', WAVE, 'size', 'overridden')
if head[2] ~= '1' then
  local function n(field) return tonumber(redis.call('HGET', COUNTS, w .. field) or '0') end
  local rejected = n('rejected')
  local failures = n('failed') + rejected + n('timed_out') - math.min(rejected, n('reason:declined'))
  local own = math.max(0, tonumber(head[1] or '0') - n('reason:superseded'))
  if own > 0 and failures / math.max(1, own) > threshold then return -1 end
end
local fresh = {}
for i = 5, #ARGV do
  local id = ARGV[i]
  local e = parse(redis.call('HGET', DEVICES, id))
  if e and not TERMINAL[e.state] and not redis.call('ZSCORE', INFLIGHT, id) then fresh[#fresh + 1] = id end
end
if #fresh == 0 then return 1 end
if redis.call('ZCARD', INFLIGHT) + #fresh > max then return 0 end
for _, id in ipairs(fresh) do redis.call('ZADD', INFLIGHT, now, id) end
return 1
`;

/**
 * expireInFlight(rid, cutoff, limit) -> ids timed out. Under maxInFlight a silent device would
 * hold its place forever (the wave's own timeout counts from the end of its notification, which
 * waits for places): a device admitted before `cutoff` and still unsettled times out on its own.
 */
const expireInFlight = `${rolloutSide}
local rid, cutoff, limit = ARGV[1], ARGV[2], tonumber(ARGV[3])
local out = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', INFLIGHT, '-inf', '(' .. cutoff, 'LIMIT', 0, limit)) do
  local e = parse(redis.call('HGET', DEVICES, id))
  if not e or TERMINAL[e.state] then
    redis.call('ZREM', INFLIGHT, id)
  elseif e.state ~= 'queued' then
    move(e.wave, e.state, 'timed_out', nil, id)
    history(id, rid, e.state, 'timed_out', nil, 'engine')
    e.state = 'timed_out'; e.reason = ''
    redis.call('HSET', DEVICES, id, pack(e))
    out[#out + 1] = id
  end
end
return out
`;

/** trimOutbox(first, n) -> 1 if trimmed: drops the n entries just copied, unless another copier already did (head changed). */
const trimOutbox = `
if redis.call('LINDEX', KEYS[1], 0) ~= ARGV[1] then return 0 end
redis.call('LTRIM', KEYS[1], tonumber(ARGV[2]), -1)
return 1
`;

// ---- device-shard slot ---------------------------------------------------------------------

/**
 * claimDevices(KEYS: device records; ARGV: rid, rolloutSeq, entryCounter per device) -> counter,
 * previous owner per device. The device step of a notify slice: the newer rollout owns a
 * device (counter -1: a newer one already does). The directive counter lives on the device
 * record, so it strictly increases per device across rollouts; a device's counter for this
 * rollout is allocated once (rolloutCounter), so a slice retried before its rollout step
 * recorded it gets the same one. The previous owner is kept, so a retry supersedes it again.
 */
const claimDevices = `
local rid, rseq = ARGV[1], tonumber(ARGV[2])
local out = {}
for i = 1, #KEYS do
  local dev = KEYS[i]
  local given = tonumber(ARGV[i + 2])
  local f = redis.call('HMGET', dev, 'rolloutId', 'rolloutSeq', 'rolloutPrev', 'rolloutCounter')
  local owner, ownerSeq = f[1], tonumber(f[2] or '0')
  if owner and owner ~= rid and ownerSeq > rseq then
    out[#out + 1] = -1
    out[#out + 1] = ''
  else
    local prev = f[3] or ''
    local mine = tonumber(f[4] or '0')
    if owner ~= rid then
      prev = owner or ''
      mine = 0
      redis.call('HSET', dev, 'rolloutId', rid, 'rolloutSeq', rseq, 'rolloutPrev', prev)
      redis.call('HDEL', dev, 'rolloutCounter')
    end
    local counter = given
    if counter == 0 then
      counter = mine
      if counter == 0 then
        counter = redis.call('HINCRBY', dev, 'directiveCounter', 1)
        redis.call('HSET', dev, 'rolloutCounter', counter)
      end
    end
    out[#out + 1] = counter
    out[#out + 1] = prev
  end
end
return out
`;

/**
 * cancelCounters(KEYS: device records; ARGV: rid) -> counters (0 = skip). A cancel is a new
 * directive: a fresh counter per device, so it is not a replay; none for a device a newer
 * rollout owns, whose retained install the cancel would otherwise replace.
 */
const cancelCounters = `
local rid = ARGV[1]
local out = {}
for i = 1, #KEYS do
  local owner = redis.call('HGET', KEYS[i], 'rolloutId')
  if owner == false or owner == rid then out[#out + 1] = redis.call('HINCRBY', KEYS[i], 'directiveCounter', 1) else out[#out + 1] = 0 end
end
return out
`;

/** reissueCounters(KEYS: device records; ARGV: rid) -> fresh counters (0 = another rollout owns the device). The device step of a reissue. */
const reissueCounters = `
local rid = ARGV[1]
local out = {}
for i = 1, #KEYS do
  if redis.call('HGET', KEYS[i], 'rolloutId') == rid then out[#out + 1] = redis.call('HINCRBY', KEYS[i], 'directiveCounter', 1) else out[#out + 1] = 0 end
end
return out
`;

/**
 * recordReports(KEYS: record1, history1, record2, history2, ..., then the shard's changed set
 * (state/registry/device-changes.ts), its fleet counters and their recount; ARGV per report:
 * epoch, seq, at, releaseId, installedSequence, rootVersion, rid, state, reason, from,
 * progress, counter, attributes JSON or '') -> 'newer' per report recorded, else the refusal
 * ('stale' | 'stale_epoch'). The device step of a status apply, after the rollout step, ordered
 * by protocol's reportOrder against the device's last (epoch, seq): a refusal is counted and
 * kept on the device (never a silent drop); a newer report updates the record (installed
 * release, last status, and the fleet's count of devices per installed release) and a state
 * change (from ~= '') is appended to the history.
 */
const recordReports = `${shared}${MARK_CHANGED_LUA}
local CHANGED, COUNTERS, RECOUNT = KEYS[#KEYS - 2], KEYS[#KEYS - 1], KEYS[#KEYS]
${COUNTER_LUA}
local out = {}
trimChanged(CHANGED)
for i = 1, (#KEYS - 3) / 2 do
  local dev, hist = KEYS[i * 2 - 1], KEYS[i * 2]
  local b = (i - 1) * 13
  local epoch, seq, at, releaseId, installedSequence, rootVersion = tonumber(ARGV[b + 1]), tonumber(ARGV[b + 2]), ARGV[b + 3], ARGV[b + 4], ARGV[b + 5], ARGV[b + 6]
  local rid, state, reason, from, progress, counter = ARGV[b + 7], ARGV[b + 8], ARGV[b + 9], ARGV[b + 10], tonumber(ARGV[b + 11]), tonumber(ARGV[b + 12])
  local attributes = ARGV[b + 13]
  local pos = redis.call('HMGET', dev, 'statusEpoch', 'statusSeq')
  local lastEpoch, last = tonumber(pos[1] or '0'), tonumber(pos[2] or '-1')
  local order = (epoch > lastEpoch and 'newer') or (epoch < lastEpoch and 'stale_epoch') or (seq > last and 'newer') or 'stale'
  out[#out + 1] = order
  if order ~= 'newer' then
    -- Shown on the device (GET /v1/devices/:id) and counted, never a silent drop.
    redis.call('HINCRBY', dev, 'statusRefusedCount', 1)
    redis.call('HSET', dev, 'statusRefused', cjson.encode({ reason = order, rolloutId = rid, counter = counter, epoch = epoch, seq = seq, lastEpoch = lastEpoch, lastSeq = last, at = at }))
  else
    -- What a dynamic rollout's target may select on changed: the device is stamped for it.
    local before = redis.call('HMGET', dev, 'installedReleaseId', 'reportedAttributes', 'id')
    if before[3] and (before[1] ~= releaseId or (attributes ~= '' and before[2] ~= attributes)) then markChanged(CHANGED, before[3]) end
    local was = redis.call('HMGET', dev, 'id', 'installedReleaseId')
    if was[1] and was[2] ~= releaseId then
      bump(was[1], 'release:' .. (was[2] or ''), -1)
      bump(was[1], 'release:' .. releaseId, 1)
    end
    redis.call('HSET', dev, 'statusEpoch', epoch, 'statusSeq', seq, 'lastSeenAt', at, 'installedReleaseId', releaseId, 'installedSequence', installedSequence, 'rootVersion', rootVersion,
      'lastStatus', cjson.encode({ rolloutId = rid, state = state, reason = (reason ~= '' and reason or nil), at = at }))
    -- docs/protocol.md#status-report: attributes carried replace the whole reported set.
    if attributes ~= '' then redis.call('HSET', dev, 'reportedAttributes', attributes, 'reportedAt', at) end
    if from ~= '' then
      local entry = { ms = nowMs(), rolloutId = rid, from = from, state = state, source = 'report',
        detail = { seq = seq, counter = counter, progress = progress, reportedAt = at, installedReleaseId = releaseId, installedSequence = tonumber(installedSequence) } }
      if reason ~= '' then entry.reason = reason end
      redis.call('LPUSH', hist, cjson.encode(entry))
      redis.call('LTRIM', hist, 0, HISTORY_MAX - 1)
    end
  end
end
flushCounts()
return out
`;

/** appendHistory(KEYS: history per entry; ARGV: entry per key) -> entries appended. Copies outbox entries; one already among the newest is not added again. */
const appendHistory = `${shared}
local n = 0
for i = 1, #KEYS do
  local seen = false
  for _, row in ipairs(redis.call('LRANGE', KEYS[i], 0, ${HISTORY_DEDUPE_DEPTH - 1})) do
    if row == ARGV[i] then seen = true; break end
  end
  if not seen then
    redis.call('LPUSH', KEYS[i], ARGV[i])
    redis.call('LTRIM', KEYS[i], 0, HISTORY_MAX - 1)
    n = n + 1
  end
end
return n
`;

// ---- single keys ---------------------------------------------------------------------------

/**
 * pace(KEYS: pacer; ARGV: costMs, horizonMs) -> 0 to go now, else milliseconds to wait. A
 * per-key pacer on Redis' clock (every engine process shares it): each grant pushes the key's
 * next free time `costMs` on, and time not used is not saved up, so work that piled up while
 * Redis or the workers were away is spread out again instead of released at once.
 */
const pace = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local nextFree = tonumber(redis.call('GET', KEYS[1]) or '0')
if nextFree > now then return nextFree - now end
redis.call('SET', KEYS[1], now + tonumber(ARGV[1]), 'PX', tonumber(ARGV[1]) + tonumber(ARGV[2]))
return 0
`;

/** setRolloutStatus(KEYS: head; ARGV: expected|'*', status, reason, updatedAt) -> 1 if changed (compare-and-set). */
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

/** casField(KEYS: hash; ARGV: field, expected, value, extraField?, extraValue?) -> 1 if changed. */
const casField = `
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
if ARGV[4] and ARGV[4] ~= '' then redis.call('HSET', KEYS[1], ARGV[4], ARGV[5]) end
return 1
`;

const SCRIPTS = {
  recordSlice, supersede, markNotified, joinWave, settleWave, recordReissue, applyReports, admitSlice, expireInFlight, trimOutbox,
  claimDevices, cancelCounters, reissueCounters, recordReports, appendHistory,
  pace, setRolloutStatus, casField,
} as const;
export type RolloutScriptName = keyof typeof SCRIPTS;

type Caller = Redis | ChainableCommander;
const COMMAND_PREFIX = 'fleetRollout_';

/**
 * Registers the scripts on a connection once (EVALSHA with automatic EVAL fallback). Each opens
 * with a "#!lua" shebang (Redis 7 script flags, none set): on Redis Cluster, Redis then refuses
 * any key access outside the slot of the declared keys, instead of letting it pass on a node
 * that happens to serve both slots (test/state/rollouts/slot-safety.test.ts relies on it).
 */
export function defineRolloutScripts(redis: Redis): void {
  const target = redis as unknown as Record<string, unknown>;
  for (const [name, lua] of Object.entries(SCRIPTS)) {
    // No fixed numberOfKeys: each call passes its key count (the device scripts take one key per device).
    if (typeof target[COMMAND_PREFIX + name] !== 'function') redis.defineCommand(COMMAND_PREFIX + name, { lua: `#!lua\n${lua}` });
  }
}

/** Runs a script with its KEYS and ARGV on a connection (or queues it on a pipeline / MULTI). */
export function runScript<T>(on: Caller, name: RolloutScriptName, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<T> {
  const command = (on as unknown as Record<string, (...a: Array<string | number>) => Promise<T>>)[COMMAND_PREFIX + name];
  if (!command) throw new Error(`rollout script ${name} is not defined on this connection (defineRolloutScripts)`);
  return command.call(on, keys.length, ...keys, ...args);
}

/** KEYS of every rollout-slot script, in the order the Lua expects; the wave keys are those of `wave`. */
export function rolloutScriptKeys(prefix: string, rolloutId: string, wave = 0): string[] {
  const k = rolloutKeys(prefix, rolloutId);
  return [k.rollout, k.devices, k.counts, k.issued, k.reports, k.historyOutbox, k.wave(wave), k.waveMembers(wave), k.waveSlicesDone(wave), k.inFlight];
}
