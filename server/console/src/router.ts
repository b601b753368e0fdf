import { useEffect, useState } from 'preact/hooks';

/** Where the app lives; every page is a URL below it, so every state can be linked to. */
export const BASE = '/admin';

export interface Route {
  /** Path below BASE, e.g. `/rules/new`. */
  path: string;
  /** The query string's parameters (page state: filters, searches, selections). */
  query: URLSearchParams;
}

function current(): Route {
  const path = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) || '/' : '/';
  return { path, query: new URLSearchParams(location.search) };
}

const listeners = new Set<() => void>();

/** Goes to `to` (below BASE) without a page load; `replace` keeps it out of the history. */
export function navigate(to: string, replace = false): void {
  const url = `${BASE}${to}`;
  if (url === location.pathname + location.search) return;
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  for (const listener of listeners) listener();
}

/** The route, re-rendered on navigation and on the browser's back and forward. */
export function useRoute(): Route {
  const [route, setRoute] = useState(current);
  useEffect(() => {
    const update = () => setRoute(current());
    listeners.add(update);
    addEventListener('popstate', update);
    return () => {
      listeners.delete(update);
      removeEventListener('popstate', update);
    };
  }, []);
  return route;
}

/** A path with a query string built from the non-empty values. */
export function withQuery(path: string, values: Record<string, string | undefined>): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(values)) if (value) query.set(key, value);
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

/**
 * Same-window clicks on links below BASE navigate in the app; modified clicks (new tab) and other
 * links behave as links do.
 */
export function interceptLinks(root: HTMLElement): void {
  root.addEventListener('click', (event) => {
    if (
      event.defaultPrevented ||
      event.button !== 0 ||
      event.metaKey ||
      event.ctrlKey ||
      event.shiftKey ||
      event.altKey
    )
      return;
    const link = (event.target as Element).closest('a');
    if (!link || link.target || link.origin !== location.origin || !link.pathname.startsWith(`${BASE}/`))
      return;
    event.preventDefault();
    // An in-page link (the skip link) moves keyboard focus to its target, which fragment
    // navigation alone does not do in every browser.
    if (link.hash && link.pathname === location.pathname) {
      document.getElementById(link.hash.slice(1))?.focus();
      return;
    }
    navigate(link.pathname.slice(BASE.length) + link.search);
  });
}
