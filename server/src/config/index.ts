export {
  type ConfigProfile,
  listBuiltinProfiles,
  loadProfile,
  PROFILES_DIR,
  profileFromValue,
  readStructuredFile,
  saveProfile,
} from './profiles';
export { engineConfigSchema, validateEngineConfig } from './schema';
export {
  type ActiveConfig,
  activateConfig,
  type ConfigChangePayload,
  type ConfigVersion,
  getActiveConfig,
  hashConfig,
  listConfigs,
  rollbackConfig,
  type SaveConfigInput,
  saveConfig,
} from './store';
