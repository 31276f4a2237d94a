/**
 * Embedded start with an existing data folder, to ready; and resident memory at idle. The app
 * runs as `npm start` runs it: the node flags of package.json's `start:prod` script. With
 * `--plain`, with no flags at all, for comparison.
 *
 *   npm run build && node -r @swc-node/register bench/startup.bench.ts [runs] [--plain]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appStartFlags, median, residentMemoryMb, startProcess, stopProcess, waitFor } from 'bench/support';

const runs = Number(process.argv[2] ?? 5);
const plain = process.argv.includes('--plain');
const PORT = 3993;

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'gremlins-startup-'));
  const env = { DATA_DIR: dataDir, PORT: String(PORT), HOST: '127.0.0.1', LOG_LEVEL: 'warn' };
  const ready = `http://127.0.0.1:${PORT}/health/ready`;
  const args = [...(plain ? [] : appStartFlags()), 'dist/src/main.js'];
  console.log(`node ${args.join(' ')}`);
  try {
    // First start creates and migrates the data folder; it is not what we measure.
    const first = startProcess(args, env);
    const freshMs = await waitFor(ready, (status) => status === 200, 120_000);
    await stopProcess(first);

    const startMs: number[] = [];
    const rssMb: number[] = [];
    for (let run = 0; run < runs; run++) {
      const child = startProcess(args, env);
      startMs.push(await waitFor(ready, (status) => status === 200));
      await new Promise((resolve) => setTimeout(resolve, 5000));
      rssMb.push(residentMemoryMb(child.pid!));
      await stopProcess(child);
    }
    console.log(`fresh data folder to ready     : ${(freshMs / 1000).toFixed(2)} s (one run)`);
    console.log(
      `existing data folder to ready  : median ${(median(startMs) / 1000).toFixed(2)} s over ${runs} runs (target < 5 s) [${startMs.map((ms) => (ms / 1000).toFixed(2)).join(', ')}]`,
    );
    console.log(
      `resident memory at idle (5 s)  : median ${median(rssMb).toFixed(0)} MB (target < 300 MB) [${rssMb.map((mb) => mb.toFixed(0)).join(', ')}]`,
    );
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
