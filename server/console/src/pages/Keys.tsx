import { useState } from 'preact/hooks';
import { trpc } from '../api';
import { navigate, withQuery } from '../router';
import {
  ConfirmButton,
  DataTable,
  Empty,
  Notice,
  Page,
  Select,
  Show,
  useAction,
  useAsync,
  When,
} from '../ui';

/**
 * The namespace's keys (ids, kinds, origins; never secrets), creating publishable keys and revoking
 * any key. Secret keys are created on the server (`recsys keys create`): the console never handles
 * one, so no secret key is ever shown in or kept by a browser.
 */
export function KeysPage(props: { query: URLSearchParams }) {
  const show = props.query.get('show') ?? 'active';
  const keys = useAsync(() => trpc.admin.keys.list.query(), []);
  const action = useAction();
  const [created, setCreated] = useState<{ key: string; keyId: string } | null>(null);

  async function create(event: Event) {
    event.preventDefault();
    const formElement = event.currentTarget as HTMLFormElement;
    const form = new FormData(formElement);
    const origins = String(form.get('origins') ?? '')
      .split(/[\s,]+/)
      .filter(Boolean);
    const label = String(form.get('label') ?? '').trim();
    const result = await action.run(
      () =>
        trpc.admin.keys.create.mutate({
          kind: 'publishable',
          allowedOrigins: origins,
          ...(label ? { label } : {}),
        }),
      (k) => `Publishable key ${k.keyId} created.`,
    );
    if (result) {
      setCreated({ key: result.key, keyId: result.keyId });
      formElement.reset();
      keys.reload();
    }
  }

  async function revoke(keyId: string) {
    const done = await action.run(
      () => trpc.admin.keys.revoke.mutate({ keyId }),
      () => `Key ${keyId} revoked.`,
    );
    if (done) keys.reload();
  }

  return (
    <Page title="Keys">
      <form class="card stack narrow-form" onSubmit={create} aria-labelledby="new-key">
        <h2 id="new-key">New publishable key</h2>
        <p class="hint">
          For the shop's pages (events and recommendations only, from the origins listed). Secret keys are
          created on the server with <code>recsys keys create --kind secret</code>.
        </p>
        <label>
          Allowed origins (space- or comma-separated)
          <input name="origins" required placeholder="https://shop.example" />
        </label>
        <label>
          Label
          <input name="label" placeholder="e.g. storefront 2027" />
        </label>
        <button type="submit" class="primary" disabled={action.busy}>
          Create publishable key
        </button>
      </form>
      {created && (
        <div class="card created" role="status">
          <p>
            Key <code>{created.keyId}</code>: <code class="key">{created.key}</code>
          </p>
          <p class="hint">
            A publishable key is public (it goes into the shop's pages); it is listed below by its id only.
          </p>
        </div>
      )}
      <Notice message={action.message} />
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <Select
          label="Show"
          value={show}
          options={[
            ['active', 'active keys'],
            ['all', 'all keys, revoked too'],
          ]}
          onChange={(value) => navigate(withQuery('/keys', { show: value }), true)}
        />
      </form>
      <Show value={keys} what="keys">
        {(all) => {
          const list = show === 'all' ? all : all.filter((k) => !k.revokedAt);
          return list.length === 0 ? (
            <Empty>No {show === 'all' ? '' : 'active '}keys.</Empty>
          ) : (
            <DataTable
              caption="API keys"
              hiddenCaption
              columns={['Key id', 'Kind', 'Origins', 'Label', 'Created', 'State']}
            >
              {list.map((k) => (
                <tr key={k.keyId} data-key={k.keyId}>
                  <th scope="row">
                    <code>{k.keyId}</code>
                  </th>
                  <td>{k.kind}</td>
                  <td class="ids">{k.allowedOrigins.join(', ') || '—'}</td>
                  <td>{k.label ?? ''}</td>
                  <td>
                    <When at={k.createdAt} />
                  </td>
                  <td>
                    {k.revokedAt ? (
                      <>
                        revoked <When at={k.revokedAt} />
                      </>
                    ) : (
                      <ConfirmButton
                        verb="Revoke"
                        what={k.keyId}
                        srWhat={`key ${k.keyId}`}
                        disabled={action.busy}
                        onConfirm={() => revoke(k.keyId)}
                      />
                    )}
                  </td>
                </tr>
              ))}
            </DataTable>
          );
        }}
      </Show>
    </Page>
  );
}
