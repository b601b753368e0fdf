/**
 * The baseline of the recommendation benchmark, in its own process: a bare
 * node:http server answering each procedure with the bytes the real server
 * sent for it. Reads `{ "<procedure>": "<base64 body>", … }` on stdin and
 * prints its URL on stdout when listening.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { text } from 'node:stream/consumers';

const samples = new Map<string, Buffer>(
  Object.entries(JSON.parse(await text(process.stdin)) as Record<string, string>).map(([name, body]) => [
    name,
    Buffer.from(body, 'base64'),
  ]),
);
const fallback = Buffer.from('{}');
const server = createServer((req, res) => {
  const procedure = (req.url ?? '').slice('/trpc/'.length).split('?')[0] ?? '';
  const body = samples.get(procedure) ?? fallback;
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
  res.end(body);
});
server.listen(0, '127.0.0.1', () => {
  console.log(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});
