#!/usr/bin/env node
import { UsageError } from './config/options.js';

const commands: Record<string, (argv: string[]) => Promise<void>> = {
  // Each command loads only its own modules: `probe` (run by kubelet every few seconds) stays light.
  media: async (argv) => (await import('./media/media-command.js')).runMedia(argv),
  operator: async (argv) => (await import('./operator/operator-command.js')).runOperator(argv),
  probe: async (argv) => (await import('./media/probe.js')).runProbe(argv),
};

async function main(): Promise<void> {
  const [command, ...argv] = process.argv.slice(2);
  const run = command ? commands[command] : undefined;
  if (!run) {
    process.stdout.write(
      'Usage: streamfed <media|operator|probe> [options]   (streamfed <command> --help for options)\n',
    );
    process.exitCode = command === undefined || command === '--help' ? 0 : 2;
    return;
  }
  await run(argv);
}

main().catch((error: unknown) => {
  if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    console.error(`streamfed: ${(error as Error).message}`);
    process.exit(2);
  }
  console.error(error);
  process.exit(1);
});
