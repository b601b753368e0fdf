import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import type { PartialEngineConfig } from '@recsys/engine';
import { parse as parseYaml } from 'yaml';
import { UserError } from '../errors';
import { packagePath } from '../paths';
import { validateEngineConfig } from './schema';

/** A named engine configuration, as read from a JSON or YAML file. */
export interface ConfigProfile {
  name: string | undefined;
  /** Why these settings: what the data taught (`note` or `description` in the file). */
  note: string | undefined;
  config: PartialEngineConfig;
  /** How the profile was found (tuning leaderboard entry), when it was. */
  provenance?: Record<string, unknown> | undefined;
  /** Where it was read from. */
  source: string;
}

/** The one folder of shipped profiles (`defaults`, `movielens`, `online-retail`, …). */
export const PROFILES_DIR = packagePath('src/config/profiles');

/** Names of the profiles shipped with the server (e.g. `online-retail`, `movielens`, `defaults`). */
export function listBuiltinProfiles(): string[] {
  return readdirSync(PROFILES_DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -5))
    .sort();
}

/** Reads JSON or YAML by extension (`.yml`/`.yaml` → YAML, anything else → JSON). */
export function readStructuredFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new UserError('NOT_FOUND', `Cannot read ${path}: ${(error as Error).message}`);
  }
  const ext = extname(path).toLowerCase();
  try {
    return ext === '.yml' || ext === '.yaml' ? parseYaml(text) : JSON.parse(text);
  } catch (error) {
    throw new UserError(
      'BAD_REQUEST',
      `${path} is not valid ${ext === '.yml' || ext === '.yaml' ? 'YAML' : 'JSON'}: ${(error as Error).message}`,
    );
  }
}

/**
 * Turns a parsed file into a profile. Two shapes are accepted: a bare config
 * (`{ "diversity": { "lambda": 0.6 } }`) or an envelope
 * (`{ "name": "…", "note": "…", "config": { … } }`).
 */
export function profileFromValue(value: unknown, source: string): ConfigProfile {
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new UserError('BAD_REQUEST', `${source}: expected an object with engine settings.`);
  }
  const record = value as Record<string, unknown>;
  const isEnvelope = 'config' in record;
  if (isEnvelope) {
    const extra = Object.keys(record).filter(
      (k) => !['name', 'note', 'description', 'provenance', 'config', '$schema'].includes(k),
    );
    if (extra.length) {
      throw new UserError(
        'BAD_REQUEST',
        `${source}: unknown top-level key(s) ${extra.map((k) => `"${k}"`).join(', ')}; a profile has name, note (or description), provenance and config.`,
      );
    }
    for (const key of ['name', 'note', 'description'] as const) {
      if (record[key] !== undefined && typeof record[key] !== 'string') {
        throw new UserError('BAD_REQUEST', `${source}: "${key}" must be a string.`);
      }
    }
  }
  const { config } = validateEngineConfig(isEnvelope ? record.config : record, source);
  const provenance = isEnvelope ? record.provenance : undefined;
  if (provenance !== undefined && (typeof provenance !== 'object' || provenance === null)) {
    throw new UserError('BAD_REQUEST', `${source}: "provenance" must be an object.`);
  }
  return {
    name: isEnvelope ? (record.name as string | undefined) : undefined,
    note: isEnvelope ? ((record.note ?? record.description) as string | undefined) : undefined,
    config,
    provenance: provenance as Record<string, unknown> | undefined,
    source,
  };
}

/**
 * Loads a profile from a file path, or by name from the built-in profiles.
 *
 * @example loadProfile('online-retail') // the shipped profile
 * @example loadProfile('./tuning/retail-v2.yaml')
 */
export function loadProfile(fileOrName: string): ConfigProfile {
  const path = resolve(fileOrName);
  if (existsSync(path)) return profileFromValue(readStructuredFile(path), fileOrName);
  const builtin = resolve(PROFILES_DIR, `${fileOrName}.json`);
  if (/^[a-z0-9-]+$/.test(fileOrName) && existsSync(builtin)) {
    const profile = profileFromValue(readStructuredFile(builtin), `profile "${fileOrName}"`);
    return { ...profile, name: profile.name ?? fileOrName };
  }
  throw new UserError(
    'NOT_FOUND',
    `"${fileOrName}" is neither a file nor a built-in profile (${listBuiltinProfiles().join(', ')}).`,
  );
}

/**
 * Writes a profile as pretty JSON in the envelope shape {@link loadProfile} reads (and
 * `recsys config set` stores); checks it first. Returns the absolute path written.
 *
 * @example saveProfile({ name: 'my-shop', config }, 'profiles/my-shop.json')
 */
export function saveProfile(
  profile: {
    name: string;
    note?: string | undefined;
    config: PartialEngineConfig;
    provenance?: Record<string, unknown> | undefined;
  },
  path: string,
): string {
  const envelope = {
    name: profile.name,
    ...(profile.note ? { note: profile.note } : {}),
    ...(profile.provenance ? { provenance: profile.provenance } : {}),
    config: profile.config,
  };
  profileFromValue(envelope, path);
  const out = resolve(path);
  writeFileSync(out, `${JSON.stringify(envelope, null, 2)}\n`);
  return out;
}
