-- remove-group.lua: delete the jobs of one group (a video being cancelled) from one window of
-- the pending list, and from the delayed set when asked. The caller walks pending window by
-- window from the left (producer) end: pushes there only move unscanned jobs further right and
-- pops happen at the right end, so no job is skipped, and each call stays short. Matches are
-- overwritten with a tombstone and removed in one LREM pass instead of one O(N) LREM per job.
--
-- KEYS[1]  pending list
-- KEYS[2]  delayed sorted set
-- KEYS[3]  attempts hash
-- ARGV[1]  needle: the exact `"group":"<group>"` text the codec writes (cheap plain-text filter)
-- ARGV[2]  the group, compared after decoding each candidate (the needle alone could match
--          inside a job's data)
-- ARGV[3]  tombstone: a value no job can equal
-- ARGV[4]  first index of the window
-- ARGV[5]  window size
-- ARGV[6]  '1' to also clean the delayed set
-- Reply: { removedFromPending, removedFromDelayed, nextStart, pendingLength }

local history = {}
local function matches(payload)
  if not string.find(payload, ARGV[1], 1, true) then
    return false
  end
  local ok, job = pcall(cjson.decode, payload)
  if ok and type(job) == 'table' and job.group == ARGV[2] then
    if type(job.id) == 'string' then
      history[#history + 1] = job.id
      history[#history + 1] = job.id .. ':error'
    end
    return true
  end
  return false
end

local pending = 0
local start = tonumber(ARGV[4])
local slice = redis.call('LRANGE', KEYS[1], start, start + tonumber(ARGV[5]) - 1)
for i = 1, #slice do
  if matches(slice[i]) then
    redis.call('LSET', KEYS[1], start + i - 1, ARGV[3])
    pending = pending + 1
  end
end
if pending > 0 then
  redis.call('LREM', KEYS[1], 0, ARGV[3])
end

local delayed = 0
if ARGV[6] == '1' then
  for _, payload in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
    if matches(payload) then
      redis.call('ZREM', KEYS[2], payload)
      delayed = delayed + 1
    end
  end
end

for first = 1, #history, 1000 do
  redis.call('HDEL', KEYS[3], unpack(history, first, math.min(first + 999, #history)))
end
-- The removed jobs were inside the window: the next unscanned job moved left by that many.
return { pending, delayed, start + #slice - pending, redis.call('LLEN', KEYS[1]) }
