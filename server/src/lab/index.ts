/**
 * `@recsys/server/lab` — offline tooling: evaluation and tuning on time-split datasets, simulation
 * runs with guardrails and reports, the scenario suite, and seeding a namespace from fixtures.
 * Everything here is built on the runtime's public API (`@recsys/server`), never the reverse.
 */
export * from './eval';
export {
  type SimulateExperimentsOptions,
  type SimulateExperimentsResult,
  simulateExperiments,
} from './experiments/simulateExperiments';
export {
  type ApiClient,
  type ApiClientOptions,
  buildScenarioContext,
  type ContextOptions,
  createApiClient,
  formatScenarioTable,
  type InProcessServer,
  type RunScenariosOptions,
  runScenarios,
  SCENARIOS,
  type Scenario,
  type ScenarioContext,
  type ScenarioOutcome,
  type ScenarioResult,
  type ScenarioStatus,
  scenariosToCsv,
  startInProcessServer,
} from './scenarios';
export { type BatchFile, type BatchResult, loadBatchFile, runBatch } from './simulate/batch';
export {
  checkGuardrails,
  type GuardrailCheck,
  type GuardrailRules,
  type GuardrailsFile,
  loadGuardrails,
} from './simulate/guardrails';
export { renderReportHtml, renderSummaryMd, type SimulationResult, writeBundle } from './simulate/report';
export { runSimulation, type SimulationOptions } from './simulate/runSimulation';
export {
  fixtureItemToInput,
  type LoadedSeed,
  loadSeed,
  type SeedOptions,
  type SeedResult,
  type SeedSource,
  seedNamespace,
} from './simulate/seed';
