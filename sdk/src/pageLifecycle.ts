/**
 * The page's life: hidden or going away (send what is queued while the browser still lets us),
 * shown or online again (resume delivery). Returns the function that removes the listeners.
 */
export function watchPage(onHide: (released: boolean) => void, onResume: () => void): () => void {
  // Chromium fires visibilitychange→hidden right after pagehide; the queue must stay marked as
  // released until the page is shown again, or the reloaded page takes its own queue for a
  // duplicated tab's.
  let unloading = false;
  const hide = (e: Event) => {
    if (e.type === 'pagehide') unloading = true;
    if (e.type === 'pagehide' || document.visibilityState === 'hidden') onHide(unloading);
  };
  const resume = (e: Event) => {
    if (e.type === 'pageshow') unloading = false;
    if (document.visibilityState !== 'hidden') onResume();
  };
  const listeners: Array<[EventTarget, string, (e: Event) => void]> = [
    [window, 'pagehide', hide],
    [document, 'visibilitychange', hide],
    [window, 'online', resume],
    [document, 'visibilitychange', resume],
    [window, 'pageshow', resume],
  ];
  for (const [t, n, f] of listeners) t.addEventListener(n, f);
  return () => {
    for (const [t, n, f] of listeners) t.removeEventListener(n, f);
  };
}
