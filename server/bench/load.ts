/**
 * The load generator of the recommendation benchmark, in its own process so
 * that neither measured server shares an event loop with it. Reads a
 * {@link LoadInput} as JSON on stdin, runs autocannon against `url` with the
 * recommendation mix, and prints one {@link LoadResult} as a JSON line.
 *
 * What autocannon 8 measures, from its source (lib/httpClient.js, run.js):
 * - `overallRate` is split across the connections as a per-second budget
 *   each (1,000/s on 32 connections: 31–32 requests per connection per
 *   second). A connection sends its next request as soon as the previous
 *   response arrives until its budget is spent, then waits for the next
 *   one-second tick. The offered rate holds per second, but requests arrive
 *   in bursts at the start of each second with up to `connections` in flight,
 *   not evenly spaced; `busiest100msShare` below shows how bursty.
 * - Latency runs from the actual send (the request is timestamped when it is
 *   written to the socket), not from a scheduled send time: there is no
 *   schedule.
 * - With a rate set, its histogram "corrects for coordinated omission" with
 *   an expected interval of `Math.ceil(1 / rate)` = 1 ms whatever the rate,
 *   so a response of L ms is recorded as L samples (L, L−1, …, 1 ms) and a
 *   few slow responses dominate its p99. Its histogram also has a 1 ms
 *   resolution. The latencies reported here are therefore taken from every
 *   response directly, each counted once (`p50`, `p99`, `max`), and
 *   autocannon's own corrected p99 is kept as `autocannonP99` for comparison.
 */
import { readFileSync } from 'node:fs';
import { text } from 'node:stream/consumers';
import autocannon from 'autocannon';
import { createRecsPaths, type RecsPathIds } from './recs-paths';

export interface LoadInput {
  url: string;
  /** API key sent as a bearer token. */
  key: string;
  /** Offered requests per second over all connections (autocannon `overallRate`). */
  rate: number;
  durationS: number;
  connections: number;
  ids: RecsPathIds;
  /** A process whose CPU time (Linux /proc) is read at the start and end of the run. */
  serverPid?: number;
}

export interface LoadResult {
  /** Mean completed requests per second (autocannon's per-second samples). */
  rps: number;
  /** Requests written to a socket. */
  sent: number;
  /** Responses received, any status. */
  completed: number;
  /** Latency from actual send, ms, every response counted once. */
  p50: number;
  p99: number;
  max: number;
  /** autocannon's p99 with its 1 ms coordinated-omission back-fill. */
  autocannonP99: number;
  /** Connection errors, timeouts and non-2xx responses. */
  errors: number;
  /** Share of all sends that fell in the busiest 100 ms of the run's seconds (even spacing: 0.1). */
  busiest100msShare: number;
  /** CPU time of this load generator process during the run, ms. */
  loadCpuMs: number;
  /** CPU time of `serverPid` during the run, ms; null where /proc is not available. */
  serverCpuMs: number | null;
}

const input = JSON.parse(await text(process.stdin)) as LoadInput;
const paths = createRecsPaths(input.ids);

/** utime + stime of a process in ms, from /proc/<pid>/stat; null off Linux. */
function processCpuMs(pid: number | undefined): number | null {
  if (!pid) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: count fields after its ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of the file, in clock ticks; Linux reports them at USER_HZ = 100.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return null;
  }
}

const latencies: number[] = [];
const sendTimes: number[] = [];
let n = 0;
const serverCpu0 = processCpuMs(input.serverPid);
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const instance = autocannon(
  {
    url: input.url,
    connections: input.connections,
    overallRate: input.rate,
    duration: input.durationS,
    headers: { authorization: `Bearer ${input.key}` },
    requests: [{ setupRequest: (req) => ({ ...req, path: `/trpc/${paths[n % paths.length]!(n++ * 13)}` }) }],
    // autocannon's `requests.sent` adds the whole first-second budget of every
    // connection up front; count sends where they happen instead. setupClient
    // runs before a connection's first request, so none is missed.
    setupClient: (client) => {
      (client as NodeJS.EventEmitter).on('request', () => sendTimes.push(performance.now() - t0));
    },
  },
  (err, result) => {
    if (err) throw err;
    const cpu = process.cpuUsage(cpu0);
    const serverCpu1 = processCpuMs(input.serverPid);
    latencies.sort((a, b) => a - b);
    const at = (q: number) => latencies[Math.max(0, Math.ceil(q * latencies.length) - 1)] ?? 0;
    // Sends per 100 ms slot of the second, summed over the run: the connections'
    // one-second budgets start together with the run, so slots line up with them.
    const perSlot = new Array<number>(10).fill(0);
    for (const t of sendTimes) perSlot[Math.floor(t / 100) % 10]!++;
    const out: LoadResult = {
      rps: result.requests.average,
      sent: sendTimes.length,
      completed: latencies.length,
      p50: at(0.5),
      p99: at(0.99),
      max: latencies.at(-1) ?? 0,
      autocannonP99: result.latency.p99,
      errors: result.errors + result.non2xx,
      busiest100msShare: sendTimes.length ? Math.max(...perSlot) / sendTimes.length : 0,
      loadCpuMs: (cpu.user + cpu.system) / 1000,
      serverCpuMs: serverCpu0 !== null && serverCpu1 !== null ? serverCpu1 - serverCpu0 : null,
    };
    console.log(JSON.stringify(out));
  },
);
instance.on('response', (_client, _status, _bytes, responseTime) => latencies.push(responseTime));
