--[[
  Wakes a flow parent (a workflow job) that waits in waiting-children although some of its
  children are still pending, so that it can start the nodes whose dependencies have just
  finished. BullMQ itself moves a parent back to wait only when its last child finishes; this is
  that same move, made earlier. It does nothing unless the job exists and is in waiting-children,
  so a repeated or late call (the parent already woken, running, or gone) is harmless, and two
  callers can never both wake it.

  The move follows BullMQ 6's layout (pinned): a parent without priority goes to the end of the
  wait list, one with a priority into the prioritized set; the marker tells blocked workers that
  there is work, unless the queue is paused or at its global concurrency.

  KEYS[1] job hash            KEYS[2] waiting-children zset   KEYS[3] wait list
  KEYS[4] prioritized zset    KEYS[5] priority counter        KEYS[6] queue meta hash
  KEYS[7] active list         KEYS[8] marker zset             KEYS[9] events stream
  KEYS[10] processed children hash   KEYS[11] failed (ignored) children hash
  ARGV[1] job id
  ARGV[2] -1 to wake unconditionally; else wake only if more than this many children have
          finished (completed, or failed with ignoreDependencyOnFailure)
  Returns 1 when the job was moved to wait, 0 otherwise.
]]
if redis.call("EXISTS", KEYS[1]) == 0 or not redis.call("ZSCORE", KEYS[2], ARGV[1]) then
  return 0
end
local seen = tonumber(ARGV[2])
if seen >= 0 and redis.call("HLEN", KEYS[10]) + redis.call("HLEN", KEYS[11]) <= seen then
  return 0
end
redis.call("ZREM", KEYS[2], ARGV[1])
local meta = redis.call("HMGET", KEYS[6], "paused", "concurrency")
local blocked = meta[1] ~= false or (meta[2] ~= false and redis.call("LLEN", KEYS[7]) >= tonumber(meta[2]))
local priority = tonumber(redis.call("HGET", KEYS[1], "priority")) or 0
if priority == 0 then
  redis.call("RPUSH", KEYS[3], ARGV[1])
else
  local counter = redis.call("INCR", KEYS[5])
  redis.call("ZADD", KEYS[4], priority * 0x100000000 + counter % 0x100000000, ARGV[1])
end
if not blocked then
  redis.call("ZADD", KEYS[8], 0, "0")
end
redis.call("XADD", KEYS[9], "*", "event", "waiting", "jobId", ARGV[1], "prev", "waiting-children")
return 1
