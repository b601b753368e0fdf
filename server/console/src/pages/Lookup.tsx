import { useEffect, useState } from 'preact/hooks';
import { type Outputs, trpc } from '../api';
import { BASE, navigate, withQuery } from '../router';
import { DataTable, Empty, Page, Show, useAsync, When } from '../ui';

type Looked = Outputs['admin']['lookup']['user'];
type Events = Looked['events'];
type Lists = NonNullable<Looked['lists']>;

const itemLink = (itemId: string) => (
  <a href={`${BASE}/catalog/${encodeURIComponent(itemId)}`}>
    <code>{itemId}</code>
  </a>
);

/** The latest events of a user or an item, newest first. */
function RecentEvents(props: { events: Events; caption: string }) {
  if (props.events.length === 0) return <Empty>No events yet.</Empty>;
  return (
    <DataTable caption={props.caption} columns={['When', 'Type', 'Item', 'Visitor']}>
      {props.events.map((e) => (
        <tr key={e.eventId}>
          <td>
            <When at={e.ts} />
          </td>
          <td>{e.type}</td>
          <td>{e.itemId ? itemLink(e.itemId) : '—'}</td>
          <td>
            <code>{e.userId ?? e.anonymousId}</code>
          </td>
        </tr>
      ))}
    </DataTable>
  );
}

/** The lists the engine would rank now, each item with its reasons in words. */
function ListsNow(props: { lists: Lists | null; note: string | null }) {
  if (!props.lists) return <Empty>{props.note}</Empty>;
  return (
    <div class="lists-now">
      {props.lists.map((list) => (
        <section key={list.surface} aria-label={list.label}>
          <h3>
            {list.label} <span class="sub">({list.surface})</span>
          </h3>
          {list.items.length === 0 ? (
            <p class="sub">Empty.</p>
          ) : (
            <ol>
              {list.items.map((item) => (
                <li key={item.itemId} data-item={item.itemId}>
                  {itemLink(item.itemId)} {item.title}
                  {item.reasons.length > 0 && <div class="sub">{item.reasons.join('; ')}</div>}
                </li>
              ))}
            </ol>
          )}
          {list.fallbackUsed && <p class="sub">Part of it came from the fallback lists.</p>}
        </section>
      ))}
    </div>
  );
}

const NOW_NOTE =
  'What the engine would rank now, with the reasons: the lists of the control (no experiment assigns a lookup) and nothing is logged.';

/** Look a signed-in user up by id (`?user=` in the URL): record, latest events, personal lists now. */
export function UsersPage(props: { query: URLSearchParams }) {
  const userId = props.query.get('user') ?? '';
  const [text, setText] = useState(userId);
  useEffect(() => setText(userId), [userId]);
  const found = useAsync(
    () => (userId ? trpc.admin.lookup.user.query({ userId }) : Promise.resolve(null)),
    [userId],
  );
  return (
    <Page title={userId ? `User ${userId}` : 'Users'}>
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          navigate(withQuery('/users', { user: text.trim() }));
        }}
      >
        <label>
          User id
          <input type="search" name="user" value={text} onInput={(e) => setText(e.currentTarget.value)} />
        </label>
        <button type="submit">Look up</button>
      </form>
      {!userId ? (
        <Empty>Give a user id (the one your shop sends as userId) to see their events and lists.</Empty>
      ) : (
        <Show value={found} what="the user">
          {(data) =>
            data && (
              <>
                <h2>Record</h2>
                {data.user ? (
                  <dl class="facts">
                    <dt>Traits</dt>
                    <dd>
                      {Object.entries(data.user.traits)
                        .map(([k, v]) => `${k}: ${String(v)}`)
                        .join(', ') || 'none'}
                    </dd>
                    <dt>Linked anonymous ids</dt>
                    <dd>{data.user.anonymousIds.join(', ') || 'none'}</dd>
                    <dt>First seen</dt>
                    <dd>
                      <When at={data.user.createdAt} />
                    </dd>
                  </dl>
                ) : (
                  <p>No record (no users.upsert, no identify) — events may still name this id.</p>
                )}
                <h2>Latest events</h2>
                <RecentEvents events={data.events} caption={`Latest events of ${data.userId}`} />
                <h2>Their lists now</h2>
                <p class="sub">{NOW_NOTE}</p>
                <ListsNow lists={data.lists} note={data.note} />
              </>
            )
          }
        </Show>
      )}
    </Page>
  );
}

/** One catalog item: its record, latest events and neighbours. */
export function ItemPage(props: { itemId: string }) {
  const found = useAsync(() => trpc.admin.lookup.item.query({ itemId: props.itemId }), [props.itemId]);
  return (
    <Page title={`Item ${props.itemId}`}>
      <p>
        <a href={`${BASE}/catalog`}>← Catalog</a>
      </p>
      <Show value={found} what="the item">
        {(data) => (
          <>
            <dl class="facts">
              <dt>Title</dt>
              <dd>{data.item.title ?? '—'}</dd>
              <dt>Tags</dt>
              <dd>{data.item.tags.join(', ') || 'none'}</dd>
              <dt>Price</dt>
              <dd>
                {data.item.price === null
                  ? '—'
                  : `${data.item.price}${data.item.currency ? ` ${data.item.currency}` : ''}`}
              </dd>
              <dt>Available</dt>
              <dd>{data.item.available ? 'yes' : 'no'}</dd>
              <dt>Archived</dt>
              <dd>{data.item.archivedAt ? <When at={data.item.archivedAt} /> : 'no'}</dd>
            </dl>
            <h2>Neighbours</h2>
            <p class="sub">{NOW_NOTE}</p>
            <ListsNow lists={data.lists} note={data.note} />
            <h2>Latest events</h2>
            <RecentEvents events={data.events} caption={`Latest events of ${data.item.itemId}`} />
          </>
        )}
      </Show>
    </Page>
  );
}
