/**
 * The load generator of the recommendation benchmark, in its own process so
 * that neither measured server shares an event loop with it. Reads a
 * {@link LoadInput} as JSON on stdin, sends the recommendation mix to `url`
 * at a constant rate with `loadtest`, and prints one {@link LoadResult} as a
 * JSON line.
 *
 * Why loadtest (8.x) and not autocannon: autocannon's `overallRate` gives each
 * connection a one-second budget that it spends back to back, so most of each
 * second's requests went out in its first 100 ms (76–80% of sends) and the
 * figures measured that burst queueing, not a steady rate. What loadtest does
 * with `requestsPerSecond`, from its source (lib/pool.js, lib/hrtimer.js,
 * lib/httpClient.js):
 * - Open loop: one timer for the whole run sends request k at start + k/rate
 *   (1 ms apart at 1,000/s), whether or not earlier requests have been
 *   answered; when the timer falls behind it sends the overdue requests one
 *   per event-loop turn. Each request goes out on a free client, and a client
 *   is added when none is free, so `concurrency` is ignored: the number of
 *   connections is the peak number of requests in flight (`connections`).
 *   Each client has a keep-alive agent of its own (`agentKeepAlive`), and free
 *   clients are reused in turn. There is no cap: a server that falls behind
 *   is sent a new connection for each further request in flight, as it would
 *   be by independent users.
 * - CPU: about 1.2–1.6 s per 5 s at 1,000/s, as much as a bare node:http
 *   sender on the same schedule written for comparison (1.1–1.3 s); the cost
 *   is one timer wake-up and one request per millisecond, not the library.
 * - Its own latency counts whole milliseconds (BigInt division, then
 *   `Math.floor`), too coarse for sub-millisecond responses. The latencies
 *   here are timed by this file instead: from the moment the request is
 *   created in `requestGenerator` (when the timer fires; the request is ended
 *   in the same turn) to the moment loadtest has the whole response body and
 *   calls `statusCallback`, carried in the request's documented `labels`.
 * - Nothing records when a request was due, so a load generator too busy to
 *   send on time (coordinated omission) would go unseen in the latencies.
 *   `sendLagP99` reports it: each request's actual send against its slot
 *   start + k/rate.
 */
import type { ClientRequest, RequestOptions } from 'node:http';
import { text } from 'node:stream/consumers';
import { loadTest } from 'loadtest';
import { processCpuMs } from './processCpu';
import { createRecsPaths, type RecsPathIds } from './recsPaths';

export interface LoadInput {
  url: string;
  /** API key sent as a bearer token. */
  key: string;
  /** Requests per second, sent evenly spaced (1 / rate apart). */
  rate: number;
  /** Measured seconds, after the warm-up. */
  durationS: number;
  /**
   * Seconds sent first at the same rate on the same connections and not counted: the load
   * generator's own start (a fresh process: cold JIT, connections being opened) otherwise shows up
   * as the servers' latency. wrk2 likewise leaves its first 10 s (calibration) out.
   */
  warmupS: number;
  ids: RecsPathIds;
  /** A process whose CPU time (Linux /proc) is read at the start and end of the run. */
  serverPid?: number;
}

export interface LoadResult {
  /** Completed responses per second over the run. */
  rps: number;
  /** Requests sent. */
  sent: number;
  /** Responses received, any status. */
  completed: number;
  /** Latency from actual send to the whole response, ms, every response counted once. */
  p50: number;
  p99: number;
  max: number;
  /** p99 of each measured second (by send time), ms. */
  p99BySecond: number[];
  /** How late requests went out against their schedule (start + k / rate), ms: p99 and max. */
  sendLagP99: number;
  sendLagMax: number;
  /** Keep-alive connections opened: the peak number of requests in flight. */
  connections: number;
  /** Connection errors, timeouts and responses with a status of 400 or more, warm-up included. */
  errors: number;
  /** Share of all sends that fell in the busiest 100 ms slot of the run's seconds (even spacing: 0.1). */
  busiest100msShare: number;
  /** CPU time of this load generator process during the measured part of the run, ms. */
  loadCpuMs: number;
  /** CPU time of `serverPid` during the measured part, ms; null where /proc is not available. */
  serverCpuMs: number | null;
}

/**
 * The part of loadtest 8's API used here. Its bundled typings still describe
 * version 7 (a callback and no promise), so the options and result are typed
 * from its documentation (doc/api.md) and source.
 */
interface LoadtestOptions {
  url: string;
  requestsPerSecond: number;
  maxSeconds: number;
  agentKeepAlive: boolean;
  quiet: boolean;
  headers: Record<string, string>;
  requestGenerator: (
    options: unknown,
    params: RequestOptions,
    request: (params: RequestOptions, callback: (res: unknown) => void) => ClientRequest,
    callback: (res: unknown) => void,
  ) => ClientRequest;
  statusCallback: (error: string | null, result: { labels?: { sentAt: number } } | undefined) => void;
}
const runLoadtest = loadTest as unknown as (options: LoadtestOptions) => Promise<{ clients: number }>;

const input = JSON.parse(await text(process.stdin)) as LoadInput;
const paths = createRecsPaths(input.ids);

const latencies: number[] = [];
const bySecond: number[][] = [];
const sendTimes: number[] = [];
let errors = 0;
let measureFrom = Number.POSITIVE_INFINITY;
let serverCpu0: number | null = null;
let cpu0 = process.cpuUsage();
// loadtest starts sending when it is called; the measured window opens warmupS later.
const runStart = performance.now();
setTimeout(() => {
  measureFrom = performance.now();
  serverCpu0 = processCpuMs(input.serverPid);
  cpu0 = process.cpuUsage();
}, input.warmupS * 1000);
const { clients } = await runLoadtest({
  url: input.url,
  requestsPerSecond: input.rate,
  maxSeconds: input.warmupS + input.durationS,
  agentKeepAlive: true,
  quiet: true,
  headers: { authorization: `Bearer ${input.key}` },
  requestGenerator: (_options, params, request, callback) => {
    const n = sendTimes.length;
    params.path = `/trpc/${paths[n % paths.length]!(n * 13)}`;
    const req = request(params, callback);
    const sentAt = performance.now();
    sendTimes.push(sentAt);
    Object.assign(req, { labels: { sentAt } });
    return req;
  },
  statusCallback: (error, result) => {
    const now = performance.now();
    if (error) errors++;
    // A failed connection has no result; a response with an error status has one.
    const sentAt = result?.labels?.sentAt;
    if (sentAt === undefined || sentAt < measureFrom) return;
    latencies.push(now - sentAt);
    const second = Math.floor((sentAt - measureFrom) / 1000);
    if (bySecond[second] === undefined) bySecond[second] = [];
    bySecond[second].push(now - sentAt);
  },
});
const end = performance.now();
const cpu = process.cpuUsage(cpu0);
const serverCpu1 = processCpuMs(input.serverPid);

const quantile = (xs: number[], q: number) => xs[Math.max(0, Math.ceil(q * xs.length) - 1)] ?? 0;
latencies.sort((a, b) => a - b);
// loadtest's timer sends request k at start + k / rate, but its start is
// not visible and request 0 itself can go out a few ms late (the first
// client and agent are created then). The earliest send against its slot
// is taken as on time; the timer counts in whole ms (Date.now), so lags
// under 1 ms are its rounding.
const interval = 1000 / input.rate;
const t0 = sendTimes.reduce((min, t, k) => Math.min(min, t - k * interval), sendTimes[0] ?? runStart);
const measured = sendTimes
  .map((t, k) => ({ t, lag: t - t0 - k * interval }))
  .filter((s) => s.t >= measureFrom);
const lags = measured.map((s) => s.lag).sort((a, b) => a - b);
// Sends per 100 ms slot of each second from the start, summed over the measured window.
const perSlot = new Array<number>(10).fill(0);
for (const { t } of measured) perSlot[Math.floor((t - t0) / 100) % 10]!++;
const out: LoadResult = {
  rps: (latencies.length * 1000) / Math.max(1, end - measureFrom),
  sent: measured.length,
  completed: latencies.length,
  p50: quantile(latencies, 0.5),
  p99: quantile(latencies, 0.99),
  max: latencies.at(-1) ?? 0,
  p99BySecond: bySecond.map((xs) =>
    quantile(
      xs.sort((a, b) => a - b),
      0.99,
    ),
  ),
  sendLagP99: quantile(lags, 0.99),
  sendLagMax: lags.at(-1) ?? 0,
  connections: clients,
  errors,
  busiest100msShare: measured.length ? Math.max(...perSlot) / measured.length : 0,
  loadCpuMs: (cpu.user + cpu.system) / 1000,
  serverCpuMs: serverCpu0 !== null && serverCpu1 !== null ? serverCpu1 - serverCpu0 : null,
};
// Keep-alive sockets would hold the process open after the run.
process.stdout.write(`${JSON.stringify(out)}\n`, () => process.exit(0));
