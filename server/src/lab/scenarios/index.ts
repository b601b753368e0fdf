export { type InProcessServer, startInProcessServer } from './inProcess';
export {
  buildScenarioContext,
  type ContextOptions,
  formatScenarioTable,
  type RunScenariosOptions,
  runScenarios,
  scenariosToCsv,
} from './runScenarios';
export { intraListDiversity, SCENARIOS } from './suite';
export {
  type ApiClient,
  type ApiClientOptions,
  createApiClient,
  type Scenario,
  type ScenarioContext,
  type ScenarioOutcome,
  type ScenarioResult,
  type ScenarioStatus,
} from './types';
