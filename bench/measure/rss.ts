/** Samples this process's resident set size while something runs, and keeps the peak. */
export function startRssSampler(everyMs = 100) {
  const startMiB = process.memoryUsage().rss / 2 ** 20;
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), everyMs);
  return {
    stop(): { startMiB: number; peakMiB: number } {
      clearInterval(timer);
      peak = Math.max(peak, process.memoryUsage().rss);
      return { startMiB: Math.round(startMiB), peakMiB: Math.round(peak / 2 ** 20) };
    },
  };
}

/** CPU time this process used over an interval, as a share of one core (1.0 = one core busy). */
export function startCpuMeter() {
  const cpu = process.cpuUsage();
  const started = performance.now();
  return {
    stop(): number {
      const used = process.cpuUsage(cpu);
      return (used.user + used.system) / 1000 / (performance.now() - started);
    },
  };
}
