import { useState } from 'preact/hooks';
import { messageOf, type Session, signIn } from '../api';
import { Page } from '../ui';

/** Sign-in: shop (namespace), operator name and password; the session is an HTTP-only cookie. */
export function SignInPage(props: { onSignedIn(session: Session): void }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const remembered =
    new URLSearchParams(location.search).get('namespace') ?? localStorage.getItem('recsys-console-ns') ?? '';

  async function submit(event: Event) {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const namespace = String(form.get('namespace') ?? '').trim();
    setBusy(true);
    setError(null);
    try {
      const session = await signIn(
        namespace,
        String(form.get('name') ?? '').trim(),
        String(form.get('password') ?? ''),
      );
      // Only the shop id is remembered, to prefill the form; never a credential.
      localStorage.setItem('recsys-console-ns', namespace);
      props.onSignedIn(session);
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main id="main" class="narrow signin">
      <Page title="Sign in to the Recsys console">
        <form onSubmit={submit} class="card stack" aria-describedby={error ? 'signin-error' : undefined}>
          <label>
            Shop (namespace)
            <input name="namespace" required autoComplete="organization" value={remembered} />
          </label>
          <label>
            Operator name
            <input name="name" required autoComplete="username" />
          </label>
          <label>
            Password
            <input name="password" type="password" required autoComplete="current-password" />
          </label>
          <div aria-live="assertive">
            {error && (
              <p id="signin-error" class="notice error" role="alert">
                {error}
              </p>
            )}
          </div>
          <button type="submit" class="primary" disabled={busy}>
            {busy ? 'Signing in…' : 'Sign in'}
          </button>
        </form>
        <p class="hint">
          No account? An admin adds one on the server with{' '}
          <code>recsys operators add &lt;name&gt; -n &lt;shop&gt; --role viewer</code>.
        </p>
      </Page>
    </main>
  );
}
