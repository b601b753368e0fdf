import { SURFACES, type Surface } from '@recsys/protocol';
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { isNotFound, messageOf } from './api';

/** The non-empty, trimmed entries of a comma-separated field ("a, b," → ["a", "b"]). */
export const commaList = (text: string) =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

export type Async<T> =
  | { status: 'loading' }
  | { status: 'error'; error: unknown; message: string; notFound: boolean }
  | { status: 'ready'; data: T };

/** Runs `load` when `deps` change; `reload` runs it again. Older answers never replace newer ones. */
export function useAsync<T>(load: () => Promise<T>, deps: unknown[]): Async<T> & { reload(): void } {
  const [state, setState] = useState<Async<T>>({ status: 'loading' });
  const [tick, setTick] = useState(0);
  const generation = useRef(0);
  useEffect(() => {
    const mine = ++generation.current;
    setState({ status: 'loading' });
    load().then(
      (data) => mine === generation.current && setState({ status: 'ready', data }),
      (error: unknown) =>
        mine === generation.current &&
        setState({ status: 'error', error, message: messageOf(error), notFound: isNotFound(error) }),
    );
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

/**
 * A page: sets the document title and moves focus to the heading when the page changes, so a
 * screen reader announces where a link led (a single-page app has no page load to do it).
 */
export function Page(props: { title: string; children: ComponentChildren; actions?: ComponentChildren }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useLayoutEffect(() => {
    document.title = `${props.title} · Recsys console`;
    heading.current?.focus({ preventScroll: true });
  }, [props.title]);
  return (
    <>
      <div class="page-head">
        <h1 tabIndex={-1} ref={heading}>
          {props.title}
        </h1>
        {props.actions && <div class="actions">{props.actions}</div>}
      </div>
      {props.children}
    </>
  );
}

export function Loading(props: { what: string }) {
  return (
    <p class="state loading" role="status" aria-live="polite">
      Loading {props.what}…
    </p>
  );
}

export function Empty(props: { children: ComponentChildren }) {
  return <div class="state empty">{props.children}</div>;
}

export function ErrorBox(props: { message: string; retry?: () => void }) {
  return (
    <div class="state error" role="alert">
      <p>{props.message}</p>
      {props.retry && (
        <button type="button" onClick={props.retry}>
          Try again
        </button>
      )}
    </div>
  );
}

/** Loading, error (with retry) or the content, for one async value. */
export function Show<T>(props: {
  value: Async<T> & { reload(): void };
  what: string;
  children: (data: T) => ComponentChildren;
}) {
  const v = props.value;
  if (v.status === 'loading') return <Loading what={props.what} />;
  if (v.status === 'error') return <ErrorBox message={v.message} retry={v.reload} />;
  return <>{props.children(v.data)}</>;
}

/** A mutation's state: the button shows progress, the outcome is announced. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  const run = useCallback(
    async <T,>(action: () => Promise<T>, ok?: (result: T) => string): Promise<T | undefined> => {
      setBusy(true);
      setMessage(null);
      try {
        const result = await action();
        if (ok) setMessage({ kind: 'ok', text: ok(result) });
        return result;
      } catch (error) {
        setMessage({ kind: 'error', text: messageOf(error) });
        return undefined;
      } finally {
        setBusy(false);
      }
    },
    [],
  );
  return { busy, message, run, clear: () => setMessage(null) };
}

export function Notice(props: { message: { kind: 'ok' | 'error'; text: string } | null }) {
  const m = props.message;
  return (
    <div aria-live="polite" class="notice-slot">
      {m && (
        <p class={`notice ${m.kind}`} role={m.kind === 'error' ? 'alert' : 'status'}>
          {m.text}
        </p>
      )}
    </div>
  );
}

/** An ISO instant as the operator's local date and time. */
export function When(props: { at: string | null | undefined }) {
  if (!props.at) return <span>—</span>;
  const date = new Date(props.at);
  return (
    <time dateTime={props.at}>
      {date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })}
    </time>
  );
}

/**
 * A table's horizontal scroll box (narrow screens): focusable, so the keyboard can scroll it, and
 * named after the table's caption so screen readers tell the regions apart.
 */
export function TableWrap(props: { children: ComponentChildren }) {
  const box = useRef<HTMLElement>(null);
  const [label, setLabel] = useState('Table');
  useLayoutEffect(() => {
    const caption = box.current?.querySelector('caption')?.textContent;
    if (caption) setLabel(caption);
  });
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard (WCAG 2.1.1)
    <section class="table-wrap" ref={box} tabIndex={0} aria-label={label}>
      {props.children}
    </section>
  );
}

/** A labelled drop-down; `options` are values, or `[value, text]` pairs. */
export function Select(props: {
  label: string;
  value: string;
  options: ReadonlyArray<string | readonly [string, string]>;
  onChange(value: string): void;
  name?: string;
}) {
  return (
    <label>
      {props.label}
      <select
        name={props.name}
        value={props.value}
        onChange={(e) => props.onChange((e.currentTarget as HTMLSelectElement).value)}
      >
        {props.options.map((o) => {
          const [value, text] = typeof o === 'string' ? [o, o] : o;
          return (
            <option key={value} value={value}>
              {text}
            </option>
          );
        })}
      </select>
    </label>
  );
}

/**
 * A destructive action in two steps: "Revoke" asks, "Revoke X now" does it, "Keep" backs out. The
 * first button's name includes `what` for screen readers, since a table has one per row.
 */
export function ConfirmButton(props: {
  verb: string;
  what: string;
  srWhat?: string;
  disabled?: boolean;
  onConfirm(): void;
}) {
  const [asking, setAsking] = useState(false);
  if (!asking)
    return (
      <button type="button" disabled={props.disabled} onClick={() => setAsking(true)}>
        {props.verb}
        <span class="sr-only"> {props.srWhat ?? props.what}</span>
      </button>
    );
  return (
    <span class="row">
      <button
        type="button"
        class="danger"
        onClick={() => {
          setAsking(false);
          props.onConfirm();
        }}
      >
        {props.verb} {props.what} now
      </button>
      <button type="button" onClick={() => setAsking(false)}>
        Keep
      </button>
    </span>
  );
}

/**
 * A table of rows with its caption (visually hidden with `hiddenCaption`) and column headings; an
 * empty heading is read as "Actions". The rows are the children (`<tr>`s).
 */
export function DataTable(props: {
  caption: string;
  hiddenCaption?: boolean;
  columns: ReadonlyArray<string | false>;
  children: ComponentChildren;
}) {
  return (
    <TableWrap>
      <table>
        <caption class={props.hiddenCaption ? 'sr-only' : undefined}>{props.caption}</caption>
        <thead>
          <tr>
            {props.columns
              .filter((c): c is string => c !== false)
              .map((c, i) => (
                <th scope="col" key={i}>
                  {c || <span class="sr-only">Actions</span>}
                </th>
              ))}
          </tr>
        </thead>
        <tbody>{props.children}</tbody>
      </table>
    </TableWrap>
  );
}

/** A checkbox per surface in a fieldset; `value` is the surfaces checked. */
export function SurfaceChecks(props: {
  legend: string;
  value: readonly string[];
  onChange(value: Surface[]): void;
}) {
  const checked = props.value as readonly Surface[];
  return (
    <fieldset>
      <legend>{props.legend}</legend>
      <div class="checks">
        {SURFACES.map((s) => (
          <label key={s} class="check">
            <input
              type="checkbox"
              checked={checked.includes(s)}
              onChange={(e) =>
                props.onChange(e.currentTarget.checked ? [...checked, s] : checked.filter((x) => x !== s))
              }
            />
            {s}
          </label>
        ))}
      </div>
    </fieldset>
  );
}

/** Named figures in a row of small cards (totals above a page's charts). */
export function Tiles(props: { tiles: ReadonlyArray<readonly [string, string]> }) {
  return (
    <dl class="tiles">
      {props.tiles.map(([name, value]) => (
        <div key={name} class="card">
          <dt>{name}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}
