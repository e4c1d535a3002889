// `npm run preview:web`: the whole app in a browser. Serves the built renderer (out/renderer,
// made by `npm run build:web`) and the workbench API on http://127.0.0.1:PORT, backed by the
// real ExperimentService over the same history folder the CLI uses.
//   PORT (default 5199) and VMM_WORKBENCH_DATA (the data folder) come from the environment.

import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultDataDir } from '../host/data-dir';
import { WorkbenchBackend } from '../service/api-backend';
import { ExperimentService } from '../service/experiment-service';
import { startPreviewServer } from './server';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const staticDir = path.join(projectRoot, 'out', 'renderer');

async function main(): Promise<void> {
  if (!existsSync(path.join(staticDir, 'index.html'))) {
    process.stderr.write(
      `preview:web: ${staticDir}/index.html is missing: build the renderer first (npm run build:web)\n`,
    );
    process.exit(1);
  }
  const port = Number(process.env.PORT ?? 5199);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`preview:web: PORT must be a port number, not '${process.env.PORT}'\n`);
    process.exit(2);
  }
  const dataDir = defaultDataDir();
  const backend = new WorkbenchBackend(new ExperimentService({ dataDir }));
  const preview = await startPreviewServer({ backend, staticDir, port });
  process.stdout.write(`VMM Workbench web preview: ${preview.url}  (data: ${dataDir})\n`);
  const stop = (): void => {
    void preview
      .close()
      .then(() => backend.close())
      .then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

void main();
