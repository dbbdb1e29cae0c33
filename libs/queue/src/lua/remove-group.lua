-- remove-group.lua: delete every pending and delayed job of one group (a video being
-- cancelled). O(length of pending): the list is read in slices, matches are overwritten with a
-- tombstone and all tombstones removed in one LREM pass, instead of one O(N) LREM per job.
--
-- KEYS[1]  pending list
-- KEYS[2]  delayed sorted set
-- KEYS[3]  attempts hash
-- ARGV[1]  needle: the exact `"group":"<group>"` text the codec writes (cheap plain-text filter)
-- ARGV[2]  the group, compared after decoding each candidate (the needle alone could match
--          inside a job's data)
-- ARGV[3]  tombstone: a value no job can equal
-- Reply: { removedFromPending, removedFromDelayed }

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
local length = redis.call('LLEN', KEYS[1])
for start = 0, length - 1, 5000 do
  local slice = redis.call('LRANGE', KEYS[1], start, start + 4999)
  for i = 1, #slice do
    if matches(slice[i]) then
      redis.call('LSET', KEYS[1], start + i - 1, ARGV[3])
      pending = pending + 1
    end
  end
end
if pending > 0 then
  redis.call('LREM', KEYS[1], 0, ARGV[3])
end

local delayed = 0
for _, payload in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  if matches(payload) then
    redis.call('ZREM', KEYS[2], payload)
    delayed = delayed + 1
  end
end

for first = 1, #history, 1000 do
  redis.call('HDEL', KEYS[3], unpack(history, first, math.min(first + 999, #history)))
end
return { pending, delayed }
