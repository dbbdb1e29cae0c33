-- retry-or-dead-letter.lua: settle a failed delivery. The job leaves the processing list and
-- either waits in the delayed set for its next delivery or, when the failure is permanent or
-- the job is out of deliveries, goes to the dead-letter list with its error.
--
-- KEYS[1]  this consumer's processing list
-- KEYS[2]  attempts hash (field <id>: failed deliveries so far; field <id>:error: last error)
-- KEYS[3]  delayed sorted set (score: due time in ms, Redis clock)
-- KEYS[4]  dead-letter list (newest left)
-- ARGV[1]  payload, byte-identical to what was claimed
-- ARGV[2]  job id ('' when the payload could not be read: it is dead-lettered at once)
-- ARGV[3]  error text
-- ARGV[4]  '1' when the failure is permanent
-- ARGV[5]  maxDeliveries
-- ARGV[6 ..] retry delays in ms: ARGV[5 + n] is the wait after the n-th failed delivery
-- Reply: { outcome, deliveries, delayMs } with outcome 'retry', 'dead', or 'lost' when the job
--        was no longer in the processing list (reclaimed meanwhile: nothing was changed).

if redis.call('LREM', KEYS[1], -1, ARGV[1]) == 0 then
  return { 'lost', 0, 0 }
end
local id = ARGV[2]
local deliveries = 1
if id ~= '' then
  deliveries = redis.call('HINCRBY', KEYS[2], id, 1)
end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

if ARGV[4] == '1' or id == '' or deliveries >= tonumber(ARGV[5]) then
  redis.call('LPUSH', KEYS[4], cjson.encode({
    payload = ARGV[1], id = id, error = ARGV[3], deliveries = deliveries,
    failedAt = now, permanent = ARGV[4] == '1',
  }))
  if id ~= '' then
    redis.call('HDEL', KEYS[2], id, id .. ':error')
  end
  return { 'dead', deliveries, 0 }
end

local delay = tonumber(ARGV[5 + deliveries]) or 0
redis.call('ZADD', KEYS[3], now + delay, ARGV[1])
redis.call('HSET', KEYS[2], id .. ':error', ARGV[3])
return { 'retry', deliveries, delay }
