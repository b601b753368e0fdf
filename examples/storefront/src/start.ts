import { startStorefront } from './startStorefront';

const port = Number(process.env.PORT ?? 8080);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  console.error(`PORT="${process.env.PORT}" is not a port number (0-65535).`);
  process.exit(1);
}

const started = performance.now();
const shop = await startStorefront({
  port,
  ...(process.env.HOST ? { host: process.env.HOST } : {}),
  onProgress: (line) => console.log(line),
});
const seconds = ((performance.now() - started) / 1000).toFixed(1);
const [localhost, ...others] = shop.origins;
console.log(`\nThe demo shop is ready (${seconds} s): ${localhost}/`);
for (const origin of others) console.log(`  also: ${origin}/`);
console.log(`\nAdmin console: ${localhost}/admin/`);
console.log(
  `  shop ${shop.console.namespace}, operator ${shop.console.name}, password ${shop.console.password} (role admin; kept in the data folder's demo.json)`,
);
console.log('Press Ctrl+C to stop.');

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await shop.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
