/**
 * What the pollers wait on between empty receives: wake(n) wakes up to n waiting pollers (all by
 * default) and notes when; wait(ms, since) resolves at the next wake, at once if one came after
 * `since` (a send while an empty receive was on its way back is not missed), or after ms.
 */
export function sendWaiter() {
  const waiting = new Set<() => void>();
  let lastWakeAt = 0;
  return {
    wake(n = Infinity) {
      lastWakeAt = Date.now();
      for (const resume of [...waiting].slice(0, n)) resume();
    },
    wait(ms: number, since = Infinity): Promise<void> {
      if (lastWakeAt >= since) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const resume = () => {
          clearTimeout(timer);
          waiting.delete(resume);
          resolve();
        };
        const timer = setTimeout(resume, ms);
        waiting.add(resume);
      });
    },
  };
}
