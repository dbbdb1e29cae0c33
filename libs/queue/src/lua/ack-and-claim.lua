-- ack-and-claim.lua: acknowledge finished jobs, then claim up to N more, in one atomic call.
-- With no payloads it is a pure batched claim; with a claim size of 0 a pure batched ack.
--
-- KEYS[1]  pending list                (producers push left; the consume end is the right)
-- KEYS[2]  this consumer's processing list (newest left, oldest right)
-- KEYS[3]  consumers set               (where the reaper finds processing lists)
-- KEYS[4]  attempts hash               (failed-delivery counts and last errors by job id)
-- ARGV[1]            consumer id
-- ARGV[2]            A, the number of payloads to acknowledge
-- ARGV[3 .. 2+A]     payloads to acknowledge, byte-identical to what was claimed
-- ARGV[3+A .. 2+2A]  their job ids ('' when unknown), whose attempt history is cleared
-- ARGV[3+2A]         claim at most this many jobs (0: acknowledge only)
-- ARGV[4+2A]         prefetch: the processing list never grows beyond this length
-- Reply: { acked, claimed }
--   acked[i] = 1 when payload i was removed from the processing list, 0 when it was no longer
--              there (the reaper reclaimed it meanwhile: it is someone else's delivery now);
--   claimed  = payloads moved from pending into the processing list, oldest first.

local a = tonumber(ARGV[2])
local acked = {}
local history = {}
for i = 1, a do
  -- LREM -1 scans from the right, where the oldest (usually first finished) jobs are.
  local removed = redis.call('LREM', KEYS[2], -1, ARGV[2 + i])
  acked[i] = removed
  local id = ARGV[2 + a + i]
  if removed == 1 and id ~= '' then
    history[#history + 1] = id
    history[#history + 1] = id .. ':error'
  end
end
if #history > 0 then
  redis.call('HDEL', KEYS[4], unpack(history))
end

local claimed = {}
local want = tonumber(ARGV[3 + 2 * a])
if want > 0 then
  -- Registering on every claim means a consumer the reaper gave up on (a long stall) is
  -- tracked again before it holds anything.
  redis.call('SADD', KEYS[3], ARGV[1])
  local room = tonumber(ARGV[4 + 2 * a]) - redis.call('LLEN', KEYS[2])
  if room < want then
    want = room
  end
  if want > 0 then
    local jobs = redis.call('RPOP', KEYS[1], want)
    if jobs then
      redis.call('LPUSH', KEYS[2], unpack(jobs))
      claimed = jobs
    end
  end
end
return { acked, claimed }
