import type { OperatorRole } from '@recsys/server';
import { useState } from 'preact/hooks';
import { trpc } from '../api';
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
 * The roles, least first, as the select offers them. The console reaches the server by types only, so
 * the list is written here and checked against the server's: a role the server adds and this list
 * lacks fails the typecheck.
 */
const ROLES = ['viewer', 'operator', 'admin'] as const satisfies readonly OperatorRole[];
const everyRoleListed: [Exclude<OperatorRole, (typeof ROLES)[number]>] extends [never] ? true : false = true;
void everyRoleListed;

/**
 * Who may sign in (admins): add an operator with a generated password shown once, change a role
 * (a new password, their sessions end), remove one. An admin's own row is changed by another admin.
 */
export function OperatorsPage(props: { self: string }) {
  const operators = useAsync(() => trpc.admin.operators.list.query(), []);
  const action = useAction();
  const [role, setRole] = useState<(typeof ROLES)[number]>('viewer');
  const [created, setCreated] = useState<{ name: string; password: string } | null>(null);

  async function add(event: Event) {
    event.preventDefault();
    const formElement = event.currentTarget as HTMLFormElement;
    const form = new FormData(formElement);
    const name = String(form.get('name') ?? '').trim();
    const replace = form.get('replace') === 'on';
    const result = await action.run(
      () => trpc.admin.operators.add.mutate({ name, role, replace }),
      (r) => `${r.operator.role} ${r.operator.name} ${replace ? 'updated' : 'added'}.`,
    );
    if (result) {
      // The console never sends a password, so the server always generated one.
      setCreated({ name: result.operator.name, password: result.password ?? '' });
      formElement.reset();
      operators.reload();
    }
  }

  async function remove(name: string) {
    const done = await action.run(
      () => trpc.admin.operators.remove.mutate({ name }),
      () => `${name} removed.`,
    );
    if (done) operators.reload();
  }

  return (
    <Page title="Operators">
      <form class="card stack narrow-form" onSubmit={add} aria-labelledby="new-operator">
        <h2 id="new-operator">Add an operator</h2>
        <label>
          Name (e.g. an e-mail address)
          <input name="name" required autoComplete="off" />
        </label>
        <Select
          label="Role"
          value={role}
          options={ROLES}
          onChange={(value) => setRole(value as (typeof ROLES)[number])}
        />
        <label class="check">
          <input type="checkbox" name="replace" /> Replace an existing operator (new role and password; ends
          their sessions)
        </label>
        <button type="submit" class="primary" disabled={action.busy}>
          Add operator
        </button>
      </form>
      {created && (
        <div class="card created" role="status">
          <p>
            Password for <strong>{created.name}</strong>: <code class="key">{created.password}</code>
          </p>
          <p class="hint">Shown once: pass it on now; only its hash is stored.</p>
        </div>
      )}
      <Notice message={action.message} />
      <Show value={operators} what="operators">
        {(list) =>
          list.length === 0 ? (
            <Empty>No operators.</Empty>
          ) : (
            <DataTable caption="Operators" hiddenCaption columns={['Name', 'Role', 'Added', '']}>
              {list.map((o) => (
                <tr key={o.name} data-operator={o.name}>
                  <th scope="row">{o.name}</th>
                  <td>{o.role}</td>
                  <td>
                    <When at={o.createdAt} />
                  </td>
                  <td>
                    {o.name === props.self ? (
                      <span class="sub">you</span>
                    ) : (
                      <ConfirmButton
                        verb="Remove"
                        what={o.name}
                        disabled={action.busy}
                        onConfirm={() => remove(o.name)}
                      />
                    )}
                  </td>
                </tr>
              ))}
            </DataTable>
          )
        }
      </Show>
    </Page>
  );
}
