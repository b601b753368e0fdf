export { type CliResult, type CliStorage, embeddedCliStorage, openCliStorage, runRecsys } from './cli';
export { getTestDatabaseTargets, type TestDatabaseTarget } from './databases';
export { completeRunningExperiments } from './experiments';
export { failure } from './failure';
export { itemIds, viewNow } from './lists';
export { createClient, createTestTenant, startTestServer, TEST_ORIGIN, type TestTenant } from './stack';
export { createTcpProxy, proxyDatabaseUrl, type TcpProxy, type TcpProxyOptions } from './tcpProxy';
