import type { TestTenant } from './stack';

/**
 * Completes every running experiment of the tenant: the one started first takes a request, so a
 * test that needs its own experiment to get the traffic clears the earlier ones first.
 */
export async function completeRunningExperiments(tenant: Pick<TestTenant, 'admin'>): Promise<void> {
  for (const e of await tenant.admin.admin.experiments.list.query()) {
    if (e.status === 'running') await tenant.admin.admin.experiments.complete.mutate({ id: e.id });
  }
}
