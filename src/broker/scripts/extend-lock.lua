--[[
  Extends a job's lock if this worker still holds it, and clears the job from the stalled set,
  exactly as BullMQ's own lock renewal does (same keys), so BullMQ's stalled-job checker sees a
  live job.
  KEYS[1] <prefix>:<queue>:<jobId>:lock
  KEYS[2] <prefix>:<queue>:stalled
  ARGV[1] token, ARGV[2] lock duration (ms), ARGV[3] job id
  Returns 1 when extended, 0 when the lock is gone or held by someone else.
]]
if redis.call("GET", KEYS[1]) == ARGV[1] then
  redis.call("SET", KEYS[1], ARGV[1], "PX", ARGV[2])
  redis.call("SREM", KEYS[2], ARGV[3])
  return 1
end
return 0
