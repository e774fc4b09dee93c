// The build's non-TypeScript files: the console's page (src/media/console/static/) beside its module in dist/.
import { cpSync } from 'node:fs';

cpSync('src/media/console/static', 'dist/media/console/static', { recursive: true });
