/**
 * The Redis broker's Lua scripts. Each runs atomically, so what it does happens whole or not at all.
 *
 * A write whose reply the broker stopped waiting for (the command timeout fired while Redis was
 * stalled, or the connection dropped and ioredis resent it) must not take effect later: the caller
 * was told it failed and may try again. So the scripts that create something a caller is told
 * about carry a deadline (`ARGV[1]`, ms since the epoch) and refuse to run past it, by Redis's
 * clock. The deadline falls a margin before the command timeout, so that a write done just in
 * time still has its reply back before the broker gives up on it.
 */

/** The error a script answers when it ran after its deadline; the caller had already given up. */
export const LATE_ERROR = 'SBLATE';

const REFUSE_IF_LATE = `
local now = redis.call('TIME')
if tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) > tonumber(ARGV[1]) then
  return redis.error_reply('${LATE_ERROR} ran after its deadline; the caller had given up')
end
`;

/** The deadline for a command sent now with this timeout: a margin (at most 250 ms) before it. */
export function deadlineFor(commandTimeoutMs: number): number {
  return Date.now() + commandTimeoutMs - Math.min(250, commandTimeoutMs / 4);
}

/**
 * Read or create the key's epoch, take the next offset, append to the bounded stream with that
 * offset as its id, and fan out on the key's channel. One script, so offsets are gap-free and in
 * the same order in the stream and on the channel. A Redis restart without persistence loses the
 * epoch key, so the next publish starts a new epoch and subscribers learn history was lost.
 *
 * KEYS: log, epoch, seq, channel. ARGV: deadline, payload, new epoch, history size.
 */
export const PUBLISH_SCRIPT = `${REFUSE_IF_LATE}
local epoch = redis.call('GET', KEYS[2])
if not epoch then epoch = ARGV[3]; redis.call('SET', KEYS[2], epoch) end
local offset = redis.call('INCR', KEYS[3])
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], '0-' .. offset, 'p', ARGV[2])
redis.call('PUBLISH', KEYS[4], epoch .. '|' .. offset .. '|' .. ARGV[2])
return {epoch, offset}
`;

/**
 * Claim an idempotency key, or read what holds it. KEYS: the key. ARGV: deadline, the claim's
 * value, its TTL in ms. Answers `{'claimed'}` or `{'held', value}`.
 */
export const CLAIM_SCRIPT = `${REFUSE_IF_LATE}
if redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3], 'NX') then return {'claimed'} end
return {'held', redis.call('GET', KEYS[1])}
`;

/** Drop a claim, and only a claim: an outcome another run already stored stays. */
export const RELEASE_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/**
 * Add or renew a presence member, announcing it when new. KEYS: expiry set, member hash, presence
 * channel. ARGV: deadline, expiry (ms), connection id, member JSON, join event JSON.
 */
export const JOIN_SCRIPT = `${REFUSE_IF_LATE}
local added = redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
if added == 1 then redis.call('PUBLISH', KEYS[3], ARGV[5]) end
return added
`;

/**
 * Remove a presence member, announcing it when it was there. No deadline: a leave that lands late
 * only does what the member's expiry would have done. KEYS: as for join. ARGV: connection id.
 */
export const LEAVE_SCRIPT = `
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
local member = redis.call('HGET', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
if removed == 1 and member then
  redis.call('PUBLISH', KEYS[3], '{"type":"leave","member":' .. member .. '}')
end
return removed
`;

/**
 * The publish script on a Redis Cluster. A promoted replica may lack the last writes its primary
 * acknowledged (replication is asynchronous), and its key's offsets would then be handed out a
 * second time for other payloads: a silent loss to a subscriber that saw the first ones. So the
 * key remembers the replication id of the primary that began its epoch (`KEYS[5]`); a publish
 * served by another primary (a promoted replica has a new id) begins a new epoch, as a restart
 * would, and drops the old epoch's stream and counter, so subscribers are told of an `epoch` gap.
 * Fan-out is `SPUBLISH`: sharded pub/sub, only within the key's shard.
 *
 * KEYS: log, epoch, seq, shard channel, owner. ARGV: as {@link PUBLISH_SCRIPT}.
 */
export const CLUSTER_PUBLISH_SCRIPT = `${REFUSE_IF_LATE}
local replid = string.match(redis.call('INFO', 'replication'), 'master_replid:(%w+)')
local epoch = redis.call('GET', KEYS[2])
local owner = redis.call('GET', KEYS[5])
if not epoch or (owner and owner ~= replid) then
  epoch = ARGV[3]
  redis.call('SET', KEYS[2], epoch)
  redis.call('DEL', KEYS[1], KEYS[3])
end
if owner ~= replid then redis.call('SET', KEYS[5], replid) end
local offset = redis.call('INCR', KEYS[3])
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], '0-' .. offset, 'p', ARGV[2])
redis.call('SPUBLISH', KEYS[4], epoch .. '|' .. offset .. '|' .. ARGV[2])
return {epoch, offset}
`;

/** A script that fans out with `PUBLISH`, made to use sharded pub/sub (`SPUBLISH`) on a cluster. */
export function sharded(script: string): string {
  return script.replaceAll("redis.call('PUBLISH'", "redis.call('SPUBLISH'");
}
