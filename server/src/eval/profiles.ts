import { readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type PartialEngineConfig, resolveEngineConfig } from '@recsys/engine';

/** A named engine configuration for one kind of shop, checked in under `server/profiles/`. */
export interface EngineProfile {
  /** File-safe name, e.g. `online-retail`. */
  name: string;
  /** Why these settings: what the data taught. */
  description?: string;
  /** Merged over the engine defaults. */
  config: PartialEngineConfig;
  /** How the profile was found (tuning leaderboard entry), when it was. */
  provenance?: Record<string, unknown>;
}

/** Folder of the checked-in profiles. */
export const PROFILES_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../profiles');

/**
 * Loads a profile by name (from `server/profiles/<name>.json`) or by path, and checks that the engine
 * accepts its config.
 *
 * @example const { config } = await loadProfile('online-retail');
 */
export async function loadProfile(nameOrPath: string): Promise<EngineProfile> {
  const path = /[/\\]|\.json$/.test(nameOrPath)
    ? resolve(nameOrPath)
    : resolve(PROFILES_DIR, `${nameOrPath}.json`);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new Error(
      `Profile '${nameOrPath}' not found at ${path}; use a name from server/profiles/ or a path to a JSON file.`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`Profile ${path} is not valid JSON: ${(error as Error).message}`);
  }
  return validateProfile(parsed, path);
}

/** Checks the shape and that the config resolves; throws with the file and the problem. */
export function validateProfile(value: unknown, source = 'profile'): EngineProfile {
  if (typeof value !== 'object' || value === null)
    throw new Error(`${source}: expected an object with name and config.`);
  const v = value as Record<string, unknown>;
  const config = v.config;
  if (typeof config !== 'object' || config === null)
    throw new Error(`${source}: 'config' must be an engine config object.`);
  try {
    resolveEngineConfig(config as PartialEngineConfig);
  } catch (error) {
    throw new Error(`${source}: config rejected by the engine: ${(error as Error).message}`);
  }
  const name = typeof v.name === 'string' && v.name ? v.name : basename(source, '.json');
  return {
    name,
    config: config as PartialEngineConfig,
    ...(typeof v.description === 'string' ? { description: v.description } : {}),
    ...(typeof v.provenance === 'object' && v.provenance !== null
      ? { provenance: v.provenance as Record<string, unknown> }
      : {}),
  };
}

/**
 * Writes a profile as pretty JSON (the format `loadProfile` reads and `recsys config` can store).
 *
 * @example await saveProfile({ name: 'my-shop', config }, 'server/profiles/my-shop.json');
 */
export async function saveProfile(profile: EngineProfile, path: string): Promise<string> {
  validateProfile(profile, path);
  const out = resolve(path);
  await writeFile(out, `${JSON.stringify(profile, null, 2)}\n`);
  return out;
}
