import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { loadSession, messageOf, type Session, signOut, whenSignedOut } from './api';
import { BundlesPage } from './pages/Bundles';
import { CatalogPage } from './pages/Catalog';
import { ConfigPage } from './pages/Config';
import { ExperimentPage } from './pages/Experiment';
import { ExperimentNewPage } from './pages/ExperimentNew';
import { ExperimentsPage } from './pages/Experiments';
import { JobsPage } from './pages/Jobs';
import { KeysPage } from './pages/Keys';
import { ItemPage, UsersPage } from './pages/Lookup';
import { OperatorsPage } from './pages/Operators';
import { OverviewPage } from './pages/Overview';
import { RulePage } from './pages/Rule';
import { RuleNewPage } from './pages/RuleNew';
import { RulesPage } from './pages/Rules';
import { SignInPage } from './pages/SignIn';
import { TracePage } from './pages/Trace';
import { TracesPage } from './pages/Traces';
import { BASE, interceptLinks, navigate, type Route, useRoute } from './router';
import { ErrorBox, Loading, Page } from './ui';

const NAV = [
  { path: '/overview', label: 'Overview' },
  { path: '/catalog', label: 'Catalog' },
  { path: '/users', label: 'Users' },
  { path: '/rules', label: 'Rules' },
  { path: '/traces', label: 'Traces' },
  { path: '/experiments', label: 'Experiments' },
  { path: '/bundles', label: 'Bundles' },
  { path: '/config', label: 'Configuration' },
  { path: '/jobs', label: 'Jobs' },
  { path: '/keys', label: 'Keys', admin: true },
  { path: '/operators', label: 'Operators', admin: true },
] as const;

function Pages(props: { route: Route; session: Session }) {
  const { path, query } = props.route;
  const role = props.session.operator.role;
  const canWrite = role !== 'viewer';
  const [, section, id] = path.split('/');
  const param = id ? decodeURIComponent(id) : undefined;
  switch (section) {
    case 'overview':
      return <OverviewPage query={query} />;
    case 'rules':
      if (param && param !== 'new') return <RulePage ruleId={param} canWrite={canWrite} />;
      return param === 'new' ? (
        <RuleNewPage query={query} canWrite={canWrite} />
      ) : (
        <RulesPage query={query} canWrite={canWrite} />
      );
    case 'traces':
      return param ? <TracePage requestId={param} /> : <TracesPage query={query} />;
    case 'experiments':
      if (param === 'new') return <ExperimentNewPage query={query} canWrite={canWrite} />;
      return param ? (
        <ExperimentPage id={param} query={query} canWrite={canWrite} />
      ) : (
        <ExperimentsPage canWrite={canWrite} />
      );
    case 'bundles':
      return <BundlesPage query={query} />;
    case 'config':
      return <ConfigPage query={query} canWrite={canWrite} />;
    case 'catalog':
      return param ? <ItemPage itemId={param} /> : <CatalogPage query={query} canWrite={canWrite} />;
    case 'users':
      return <UsersPage query={query} />;
    case 'jobs':
      return <JobsPage query={query} canWrite={canWrite} />;
    case 'keys':
    case 'operators':
      return role !== 'admin' ? (
        <Page title={section === 'keys' ? 'Keys' : 'Operators'}>
          <ErrorBox message="Keys and operators are managed by operators with the admin role; you are signed in as a viewer or operator." />
        </Page>
      ) : section === 'keys' ? (
        <KeysPage query={query} />
      ) : (
        <OperatorsPage self={props.session.operator.name} />
      );
    default:
      return (
        <Page title="Page not found">
          <p>
            Nothing lives at <code>{BASE + path}</code>. Start from{' '}
            <a href={`${BASE}/overview`}>the overview</a>.
          </p>
        </Page>
      );
  }
}

function App() {
  const route = useRoute();
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [failure, setFailure] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    whenSignedOut(() => setSession(null));
    loadSession().then(setSession, (error: unknown) => setFailure(messageOf(error)));
  }, [attempt]);

  useEffect(() => {
    if (session && (route.path === '/' || route.path === '/sign-in'))
      navigate(route.query.get('next') ?? '/overview', true);
  }, [session, route]);

  if (failure)
    return (
      <main id="main" class="narrow">
        <ErrorBox
          message={`The console could not reach the server: ${failure}`}
          retry={() => {
            setFailure(null);
            setAttempt((a) => a + 1);
          }}
        />
      </main>
    );
  if (session === undefined)
    return (
      <main id="main" class="narrow">
        <Loading what="the console" />
      </main>
    );
  if (session === null) return <SignInPage onSignedIn={setSession} />;

  const role = session.operator.role;
  const nav = NAV.filter((n) => !('admin' in n) || role === 'admin');
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href={`${BASE}/overview`}>
          Recsys <span>console</span>
        </a>
        <nav aria-label="Console">
          <ul>
            {nav.map((n) => (
              <li key={n.path}>
                <a
                  href={BASE + n.path}
                  aria-current={
                    route.path === n.path || route.path.startsWith(`${n.path}/`) ? 'page' : undefined
                  }
                >
                  {n.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          <span>
            {session.operator.name} · <strong class={`role role-${role}`}>{role}</strong> ·{' '}
            {session.namespace}
          </span>
          <button
            type="button"
            class="link"
            onClick={async () => {
              await signOut();
              setSession(null);
              navigate('/sign-in', true);
            }}
          >
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <Pages route={route} session={session} />
      </main>
    </>
  );
}

const root = document.getElementById('app')!;
interceptLinks(document.body);
render(<App />, root);
