-- Enqueues one GPU job unless the stream or the function's queue is full (atomic across gateways), and
-- only under the epoch the gateway knows: once Redis lost its data, the gateway fails the calls of the
-- old epoch as lost, so none may have its job queued in the new one.
-- KEYS[1]  jobs stream        KEYS[2]  depth hash (function -> jobs queued or in progress)
-- KEYS[3]  epoch key (set by the gateways; gone or different when Redis lost its data)
-- ARGV[1]  stream cap          ARGV[2]  function name      ARGV[3]  the function's queue limit
-- ARGV[4]  the epoch the gateway knows                     ARGV[5..] the entry's field/value pairs
-- Returns the entry id, or the error FULL (stream at its cap) / QUEUE (function at its limit) /
-- EPOCH (the epoch is not the gateway's: it checks it again and retries).
if redis.call('GET', KEYS[3]) ~= ARGV[4] then
  return redis.error_reply('EPOCH')
end
if redis.call('XLEN', KEYS[1]) >= tonumber(ARGV[1]) then
  return redis.error_reply('FULL')
end
local depth = tonumber(redis.call('HGET', KEYS[2], ARGV[2]) or '0')
if depth >= tonumber(ARGV[3]) then
  return redis.error_reply('QUEUE')
end
redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
return redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', unpack(ARGV, 5))
