-- Answers one job and retires it: the reply first, then XACK; XDEL and the depth decrement only when the
-- ack took (so a job answered twice, or one lost with Redis's data, never pushes the depth below the truth).
-- KEYS[1]  jobs stream        KEYS[2]  depth hash (function -> jobs queued or in progress)
-- KEYS[3]  the caller's reply stream (may be any key when there is no reply)
-- ARGV[1]  consumer group      ARGV[2]  entry id     ARGV[3]  function name
-- ARGV[4]  '1' to add a reply, '0' not to            ARGV[5..] the reply's field/value pairs
-- Returns 1 when the job was acknowledged here, 0 when it was not pending (answered already, or the group
-- or the stream are gone because Redis restarted empty or was flushed).
if ARGV[4] == '1' then
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', '10000', '*', unpack(ARGV, 5))
  redis.call('PEXPIRE', KEYS[3], 600000)
end
local acked = redis.pcall('XACK', KEYS[1], ARGV[1], ARGV[2])
if type(acked) ~= 'number' or acked == 0 then
  return 0
end
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('HINCRBY', KEYS[2], ARGV[3], -1)
return 1
