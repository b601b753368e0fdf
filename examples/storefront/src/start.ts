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
  // Simulated shoppers fill the admin console's charts; RECSYS_DEMO_SHOPPERS=0 leaves the shop quiet.
  shoppers:
    process.env.RECSYS_DEMO_SHOPPERS === '0'
      ? false
      : { onError: (error) => console.warn(`A simulated shopper's visit failed: ${String(error)}`) },
});
if (shop.shoppers) {
  console.log('Simulating shoppers (one visit every 5 s after a first 120) …');
  await shop.shoppers.ready;
  const s = shop.shoppers.stats();
  console.log(
    `Simulated ${s.visits} visits: ${s.lists} lists, ${s.impressions} impressions, ${s.clicks} clicks, ${s.adds} adds, ${s.purchases} purchases.`,
  );
}
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
