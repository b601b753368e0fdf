import type { OperatorRole } from '../db/schema';

const RANK: Record<OperatorRole, number> = { viewer: 0, operator: 1, admin: 2 };

/** Mutations that change nothing (dry runs): a viewer may call them. */
const READ_ONLY_MUTATIONS = new Set(['admin.rules.preview']);

/** Procedures that manage access itself: admins only, reads included (key ids, origins, labels). */
const ADMIN_ONLY_PREFIXES = ['admin.keys.', 'admin.operators.'];

/**
 * The least role a console session needs for a procedure: `viewer` reads, `operator` changes
 * rules, overrides, experiments, configuration and traces, `admin` also manages keys. `undefined`
 * for procedures outside `admin.*`, which a console session never reaches (ingestion and
 * recommendations belong to the shop's keys).
 */
export function requiredRole(
  path: string,
  type: 'query' | 'mutation' | 'subscription',
): OperatorRole | undefined {
  if (!path.startsWith('admin.')) return undefined;
  if (ADMIN_ONLY_PREFIXES.some((prefix) => path.startsWith(prefix))) return 'admin';
  if (type === 'query' || READ_ONLY_MUTATIONS.has(path)) return 'viewer';
  return 'operator';
}

/** Whether `role` may call the procedure, and the refusal message when not. */
export function roleRefusal(
  role: OperatorRole,
  path: string,
  type: 'query' | 'mutation' | 'subscription',
): string | undefined {
  const needed = requiredRole(path, type);
  if (needed === undefined) {
    return `"${path}" is not available to console sessions; they reach admin.* only (use an API key for ingestion and recommendations).`;
  }
  if (RANK[role] < RANK[needed]) {
    return `"${path}" needs the ${needed} role; you are signed in as ${role === 'admin' ? 'an' : 'a'} ${role}. Ask an admin to change your role with \`recsys operators add --replace\`.`;
  }
  return undefined;
}

/** Whether a role may change anything through the console (what the app shows write actions for). */
export function roleAtLeast(role: OperatorRole, needed: OperatorRole): boolean {
  return RANK[role] >= RANK[needed];
}
