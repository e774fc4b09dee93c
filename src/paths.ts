import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The package root (the folder holding package.json), whether running from src/ via vitest or from dist/. */
export const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
