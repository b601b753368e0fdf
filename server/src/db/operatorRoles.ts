/**
 * The admin console's roles, least to most: the one list, also the stored column's values. A module
 * of its own, with no imports, so the CLI can check a `--role` without loading the schema.
 */
export const OPERATOR_ROLES = ['viewer', 'operator', 'admin'] as const;
export type OperatorRole = (typeof OPERATOR_ROLES)[number];

/** Whether `value` is one of {@link OPERATOR_ROLES}. */
export function isOperatorRole(value: string): value is OperatorRole {
  return (OPERATOR_ROLES as readonly string[]).includes(value);
}
