import { useEffect, useState } from 'preact/hooks';
import { type Outputs, trpc } from '../api';
import { BASE, navigate, withQuery } from '../router';
import { DataTable, Empty, Notice, Page, Select, Show, useAction, useAsync, When } from '../ui';

type Item = Outputs['admin']['catalog']['list']['items'][number];
const STATUSES = ['active', 'archived', 'all'] as const;
type Status = (typeof STATUSES)[number];
const PAGE_SIZE = 25;

/**
 * The catalog a page at a time by id: search in ids and titles, filter by archived and available
 * (all in the URL, the page's cursor too), archive and restore for operators and admins.
 */
export function CatalogPage(props: { query: URLSearchParams; canWrite: boolean }) {
  const q = props.query.get('q') ?? '';
  const asked = props.query.get('status') ?? '';
  const status: Status = STATUSES.includes(asked as Status) ? (asked as Status) : 'active';
  const available = props.query.get('available') ?? '';
  const cursor = props.query.get('cursor') ?? '';
  const [text, setText] = useState(q);
  useEffect(() => setText(q), [q]);
  const items = useAsync(
    () =>
      trpc.admin.catalog.list.query({
        limit: PAGE_SIZE,
        status,
        ...(q ? { search: q } : {}),
        ...(available === 'yes' ? { available: true } : available === 'no' ? { available: false } : {}),
        ...(cursor ? { cursor } : {}),
      }),
    [q, status, available, cursor],
  );
  const action = useAction();
  const state = { q, status: status === 'active' ? '' : status, available };
  const go = (values: Record<string, string>) =>
    navigate(withQuery('/catalog', { ...state, ...values }), true);

  async function toggle(item: Item) {
    const archive = item.archivedAt === null;
    const done = await action.run(
      (): Promise<unknown> =>
        archive
          ? trpc.admin.catalog.archive.mutate({ itemIds: [item.itemId] })
          : trpc.admin.catalog.restore.mutate({ itemIds: [item.itemId] }),
      () =>
        archive
          ? `Item ${item.itemId} archived: it is no longer recommended.`
          : `Item ${item.itemId} restored.`,
    );
    if (done) items.reload();
  }

  return (
    <Page title="Catalog">
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          go({ q: text.trim() });
        }}
      >
        <label>
          Search (id or title)
          <input type="search" name="q" value={text} onInput={(e) => setText(e.currentTarget.value)} />
        </label>
        <button type="submit">Search</button>
        <Select
          label="Status"
          value={status}
          options={STATUSES}
          onChange={(value) => go({ status: value === 'active' ? '' : value })}
        />
        <Select
          label="Availability"
          value={available}
          options={[
            ['', 'any'],
            ['yes', 'available'],
            ['no', 'unavailable'],
          ]}
          onChange={(value) => go({ available: value })}
        />
      </form>
      <Notice message={action.message} />
      <Show value={items} what="items">
        {(page) =>
          page.items.length === 0 ? (
            <Empty>
              <p>
                {q || available || status !== 'active' || cursor
                  ? 'No item matches this search and these filters.'
                  : 'No items yet: send them with items.upsert or `recsys import`.'}
              </p>
            </Empty>
          ) : (
            <>
              <DataTable
                caption={`Items${q ? ` matching “${q}”` : ''}, by id`}
                hiddenCaption
                columns={['Item', 'Tags', 'Price', 'Available', 'Archived', props.canWrite && '']}
              >
                {page.items.map((item) => (
                  <tr key={item.itemId} data-item={item.itemId}>
                    <th scope="row">
                      <a href={`${BASE}/catalog/${encodeURIComponent(item.itemId)}`}>
                        <code>{item.itemId}</code>
                      </a>
                      {item.title && <div class="sub">{item.title}</div>}
                    </th>
                    <td class="ids">{item.tags.join(', ')}</td>
                    <td>
                      {item.price === null ? '—' : `${item.price}${item.currency ? ` ${item.currency}` : ''}`}
                    </td>
                    <td>{item.available ? 'yes' : 'no'}</td>
                    <td>{item.archivedAt ? <When at={item.archivedAt} /> : 'no'}</td>
                    {props.canWrite && (
                      <td>
                        <button type="button" disabled={action.busy} onClick={() => toggle(item)}>
                          {item.archivedAt ? 'Restore' : 'Archive'}
                          <span class="sr-only"> {item.itemId}</span>
                        </button>
                      </td>
                    )}
                  </tr>
                ))}
              </DataTable>
              <nav class="row" aria-label="Pages">
                {cursor && <a href={withQuery(`${BASE}/catalog`, state)}>First page</a>}
                {page.nextCursor && (
                  <a href={withQuery(`${BASE}/catalog`, { ...state, cursor: page.nextCursor })}>Next page</a>
                )}
              </nav>
            </>
          )
        }
      </Show>
    </Page>
  );
}
