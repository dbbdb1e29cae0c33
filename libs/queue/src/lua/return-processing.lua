-- return-processing.lua: move a consumer's whole processing list back to the consume end of
-- pending, oldest job first, and deregister the consumer. Used by the reaper (dead consumers),
-- by a consumer at start (what a previous run under its id left behind) and by graceful close.
--
-- KEYS[1]  the consumer's heartbeat key
-- KEYS[2]  the consumer's processing list (newest left, oldest right)
-- KEYS[3]  consumers set
-- KEYS[4]  pending list
-- KEYS[5]  attempts hash (field <id>: failed deliveries so far; field <id>:error: last error)
-- KEYS[6]  dead-letter list
-- ARGV[1]  consumer id
-- ARGV[2]  mode: 'reap'    only when the heartbeat has expired; counts a delivery per job
--                'recover' whatever the heartbeat; counts a delivery per job
--                'release' graceful hand-back; counts nothing
-- ARGV[3]  maxDeliveries
-- ARGV[4]  error text for jobs dead-lettered here (their last recorded error is appended)
-- Reply: { returned, deadLettered, deregistered } (deregistered = 1 when this call removed the
--        consumer from the set, so racing reapers count each dead consumer once), or
--        { -1, 0, 0 } in 'reap' mode when the consumer is alive.
-- Atomic, so several reapers racing on one consumer move each job exactly once: the second
-- finds an empty list.

local mode = ARGV[2]
if mode == 'reap' and redis.call('EXISTS', KEYS[1]) == 1 then
  return { -1, 0, 0 }
end
local counting = mode ~= 'release'
local max = tonumber(ARGV[3])
local jobs = redis.call('LRANGE', KEYS[2], 0, -1)
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

local back = {}
local dead = 0
for i = 1, #jobs do
  local payload = jobs[i]
  if not counting then
    back[#back + 1] = payload
  else
    local ok, job = pcall(cjson.decode, payload)
    local id = ''
    if ok and type(job) == 'table' and type(job.id) == 'string' then
      id = job.id
    end
    local deliveries = 1
    if id ~= '' then
      deliveries = redis.call('HINCRBY', KEYS[5], id, 1)
    end
    if id == '' or deliveries >= max then
      local text = ARGV[4]
      if id == '' then
        text = 'malformed payload (no job id); ' .. text
      else
        local previous = redis.call('HGET', KEYS[5], id .. ':error')
        if previous then
          text = text .. '; previous error: ' .. previous
        end
        redis.call('HDEL', KEYS[5], id, id .. ':error')
      end
      redis.call('LPUSH', KEYS[6], cjson.encode({
        payload = payload, id = id, error = text, deliveries = deliveries,
        failedAt = now, permanent = false,
      }))
      dead = dead + 1
    else
      back[#back + 1] = payload
    end
  end
end

-- jobs[1] is the newest: pushing in this order leaves the oldest rightmost, claimed first.
-- Chunks keep unpack() far below Lua's stack limit.
for first = 1, #back, 1000 do
  redis.call('RPUSH', KEYS[4], unpack(back, first, math.min(first + 999, #back)))
end
redis.call('DEL', KEYS[2])
local deregistered = redis.call('SREM', KEYS[3], ARGV[1])
if mode ~= 'reap' then
  redis.call('DEL', KEYS[1])
end
return { #back, dead, deregistered }
