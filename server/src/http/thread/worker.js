// Entry of the HTTP thread when it runs from source (see startHttpThread.ts; the compiled CLI
// starts dist/threadMain.js instead). The server is TypeScript, and a worker thread does not
// inherit the loader hooks of the thread that started it (not even from `--import tsx` on Node 20),
// so it registers tsx itself.
import { register } from 'tsx/esm/api';

register();
await import('./threadMain.ts');
