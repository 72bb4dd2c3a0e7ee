/**
 * Whether a process of this host is alive: signal 0 checks without signalling (ESRCH: gone;
 * EPERM: alive but another user's). Used for stale temporary files, interrupted runs and locks.
 */
export const processAlive = (pid: number): boolean => {
  if (pid === process.pid) return true;
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
};
