-- promote-due.lua: move delayed jobs whose time has come to the consume end of pending.
--
-- KEYS[1]  delayed sorted set (score: due time in ms, Redis clock)
-- KEYS[2]  pending list
-- ARGV[1]  at most this many jobs in one call (keeps each call short)
-- Reply: the number of jobs moved.

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local due = redis.call('ZRANGE', KEYS[1], '-inf', now, 'BYSCORE', 'LIMIT', 0, tonumber(ARGV[1]))
if #due == 0 then
  return 0
end
redis.call('ZREM', KEYS[1], unpack(due))
-- due[1] is the earliest: push it last so it is the rightmost, claimed first.
local ordered = {}
for i = #due, 1, -1 do
  ordered[#ordered + 1] = due[i]
end
redis.call('RPUSH', KEYS[2], unpack(ordered))
return #due
