import type { RefObject } from 'preact';
import { useEffect, useRef } from 'preact/hooks';

/** Share of an item that must be on screen, and for how long, before it counts as seen (IAB-style). */
export const IMPRESSION_RATIO = 0.5;
export const IMPRESSION_MS = 1000;

/**
 * Reports each child of `listRef` once it has been at least half visible for one continuous second.
 * Each child is reported at most once per `responseKey`; a new key (a new response) starts over.
 * Without IntersectionObserver (very old browsers, SSR) nothing is reported rather than guessing.
 */
export function useImpressions(
  listRef: RefObject<HTMLElement | null>,
  responseKey: string | undefined,
  onSeen: (el: Element) => void,
): void {
  const onSeenRef = useRef(onSeen);
  onSeenRef.current = onSeen;

  useEffect(() => {
    const list = listRef.current;
    if (!responseKey || !list || typeof IntersectionObserver === 'undefined') return;
    const items = Array.from(list.children);
    const seen = new Set<Element>();
    const timers = new Map<Element, ReturnType<typeof setTimeout>>();
    const cancel = (el: Element) => {
      clearTimeout(timers.get(el));
      timers.delete(el);
    };

    const io = new IntersectionObserver(
      (entries) => {
        for (const entry of entries) {
          const el = entry.target;
          if (seen.has(el)) continue;
          // Browsers may report a ratio a hair under the threshold when crossing it.
          const visible = entry.isIntersecting && entry.intersectionRatio >= IMPRESSION_RATIO - 0.001;
          if (!visible || document.hidden) {
            cancel(el);
          } else if (!timers.has(el)) {
            timers.set(
              el,
              setTimeout(() => {
                timers.delete(el);
                seen.add(el);
                io.unobserve(el);
                onSeenRef.current(el);
              }, IMPRESSION_MS),
            );
          }
        }
      },
      { threshold: IMPRESSION_RATIO },
    );
    for (const el of items) io.observe(el);

    // A hidden tab is not "seen": stop the clocks, then re-observe on return to get a fresh reading.
    const onVisibility = () => {
      for (const el of items) {
        if (seen.has(el)) continue;
        cancel(el);
        io.unobserve(el);
        if (!document.hidden) io.observe(el);
      }
    };
    document.addEventListener('visibilitychange', onVisibility);
    return () => {
      io.disconnect();
      for (const t of timers.values()) clearTimeout(t);
      document.removeEventListener('visibilitychange', onVisibility);
    };
  }, [listRef, responseKey]);
}
