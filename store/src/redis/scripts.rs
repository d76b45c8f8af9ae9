//! The Lua scripts the Redis store runs: each step that must be one
//! atomic round trip.

/// One session, its user and the user's tenant in one round trip.
pub(super) const VIEW_SCRIPT: &str = r#"
local s = redis.call('GET', KEYS[1])
if not s then return false end
local uid = cjson.decode(s)['user_id']
local u = redis.call('GET', ARGV[1] .. 'u:' .. uid)
if not u then return false end
local tid = cjson.decode(u)['tenant_id']
local t = redis.call('GET', ARGV[1] .. 't:' .. tid)
if not t then return false end
return {s, u, t}
"#;

/// Removes failure runs oldest first, from the index of runs by their last
/// attempt (KEYS[1]): entries whose run expired, then runs while more than
/// ARGV[1] remain (S58). At most ARGV[2] entries a call, so the server is
/// never held long; `{removed, dropped, done}`.
pub(super) const TRIM_FAILURES_SCRIPT: &str = r#"
local kept, batch = tonumber(ARGV[1]), tonumber(ARGV[2])
local removed, dropped = 0, 0
local oldest = redis.call('ZRANGE', KEYS[1], 0, batch - 1)
for _, key in ipairs(oldest) do
  if redis.call('EXISTS', key) == 0 then
    redis.call('ZREM', KEYS[1], key)
    dropped = dropped + 1
  elseif redis.call('ZCARD', KEYS[1]) > kept then
    redis.call('DEL', key)
    redis.call('ZREM', KEYS[1], key)
    removed = removed + 1
  else
    return {removed, dropped, 1}
  end
end
if #oldest < batch then return {removed, dropped, 1} end
return {removed, dropped, 0}
"#;

/// One password attempt for an identifier (S11, S51): the run and its last
/// time in one hash, counted atomically and indexed by that time for the
/// cap (KEYS[2], S58); a run short of the threshold expires after the
/// quiet period by its TTL, one that reached it stays. A plain counter
/// from an earlier version is taken over as the run. Returns the attempt's
/// number, or -1 when locked (nothing counted).
pub(super) const ADMIT_ATTEMPT_SCRIPT: &str = r#"
local threshold, forget, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local count, last = 0, now
if redis.call('TYPE', KEYS[1]).ok == 'string' then
  count = tonumber(redis.call('GET', KEYS[1])) or 0
  redis.call('DEL', KEYS[1])
else
  local v = redis.call('HMGET', KEYS[1], 'count', 'at')
  count, last = tonumber(v[1]) or 0, tonumber(v[2]) or now
end
if count < threshold and now - last >= forget then count = 0 end
if count >= threshold then
  redis.call('HSET', KEYS[1], 'count', count, 'at', last)
  redis.call('PERSIST', KEYS[1])
  return -1
end
count = count + 1
redis.call('HSET', KEYS[1], 'count', count, 'at', now)
redis.call('ZADD', KEYS[2], now, KEYS[1])
if count < threshold then
  redis.call('EXPIRE', KEYS[1], forget)
else
  redis.call('PERSIST', KEYS[1])
end
return count
"#;

/// The embedded store's fixed window: it starts at the first event and
/// lasts `window` seconds of the gateway's clock.
pub(super) const COUNT_EVENT_SCRIPT: &str = r#"
local now, win = tonumber(ARGV[1]), tonumber(ARGV[2])
local v = redis.call('HMGET', KEYS[1], 'count', 'end')
local count, wend = tonumber(v[1]), tonumber(v[2])
if (not count) or wend <= now then
  count = 1
  wend = now + win
else
  count = count + 1
end
redis.call('HSET', KEYS[1], 'count', count, 'end', wend)
redis.call('EXPIRE', KEYS[1], win + 300)
return count
"#;
