-- replay-dead.lua: give dead-lettered jobs a fresh start: the oldest dead letters go back to
-- the producer end of pending with their original payloads (attempt history was cleared when
-- they were dead-lettered, so they get the full number of deliveries again).
--
-- KEYS[1]  dead-letter list (newest left, oldest right)
-- KEYS[2]  pending list
-- ARGV[1]  at most this many entries
-- Reply: the number of jobs replayed.

local entries = redis.call('RPOP', KEYS[1], tonumber(ARGV[1]))
if not entries then
  return 0
end
local payloads = {}
for i = 1, #entries do
  local ok, entry = pcall(cjson.decode, entries[i])
  if ok and type(entry) == 'table' and type(entry.payload) == 'string' then
    payloads[#payloads + 1] = entry.payload
  else
    -- Not written by this queue: keep it where an operator can see it.
    redis.call('LPUSH', KEYS[1], entries[i])
  end
end
for first = 1, #payloads, 1000 do
  redis.call('LPUSH', KEYS[2], unpack(payloads, first, math.min(first + 999, #payloads)))
end
return #payloads
