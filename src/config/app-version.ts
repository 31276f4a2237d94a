import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const PACKAGE_NAME = 'gremlins-ai';

/**
 * The version in the app's package.json. Found by walking up from this file, because the
 * compiled copy lives one folder deeper (dist/src/config) than the source does.
 */
export function readAppVersion(start: string = typeof __dirname === 'string' ? __dirname : process.cwd()): string {
  let folder = start;
  for (;;) {
    const file = join(folder, 'package.json');
    if (existsSync(file)) {
      const manifest = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (manifest.name === PACKAGE_NAME && manifest.version) return manifest.version;
    }
    const parent = dirname(folder);
    if (parent === folder) return 'unknown';
    folder = parent;
  }
}
