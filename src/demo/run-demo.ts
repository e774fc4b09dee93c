import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { packageRoot } from '../paths.js';

/**
 * The local federation demo: two `streamfed media` processes on this machine. Publish on server 1 with the
 * official Two Way Streaming page, push to server 2 with one REST call, play there with the Player page.
 */
const host = process.env['DEMO_HOST'] ?? '127.0.0.1';
const servers = [
  { name: 'server 1', ws: 8080, rest: 8081, rtcPort: 20000, rtc: [40000, 40999] },
  { name: 'server 2', ws: 8090, rest: 8091, rtcPort: 20010, rtc: [41000, 41999] },
] as const;

const children: ChildProcess[] = servers.map((s) =>
  spawn(
    process.execPath,
    [
      path.join(packageRoot, 'dist/cli.js'),
      'media',
      '--listen-ip',
      host,
      '--announced-ip',
      host,
      '--ws-port',
      String(s.ws),
      '--rest-port',
      String(s.rest),
      '--rtc-port',
      String(s.rtcPort),
      '--rtc-min-port',
      String(s.rtc[0]),
      '--rtc-max-port',
      String(s.rtc[1]),
      '--workers',
      '1',
      '--log-level',
      process.env['STREAMFED_LOG_LEVEL'] ?? 'warn',
    ],
    { stdio: 'inherit' },
  ),
);

const pages = (rest: number, page: string): string =>
  `http://${host}:${rest}/demo/examples/demo/streaming/${page}/${page}.html`;
const [one, two] = servers;
console.log(`
streamfed demo: two WCS-compatible media servers
  ${one.name}: ws://${host}:${one.ws}   REST http://${host}:${one.rest}/rest-api   metrics http://${host}:${one.rest}/metrics
  ${two.name}: ws://${host}:${two.ws}   REST http://${host}:${two.rest}/rest-api   metrics http://${host}:${two.rest}/metrics

1. Publish your camera on ${one.name}:   ${pages(one.rest, 'two_way_streaming')}
   (server URL ws://${host}:${one.ws}, Connect, stream name "stream1", Publish)
2. Push it to ${two.name} over WebRTC:
   curl -X POST http://${host}:${one.rest}/rest-api/pull/push -H 'content-type: application/json' \\
        -d '{"uri":"ws://${host}:${two.ws}","localStreamName":"stream1"}'
3. Play it on ${two.name}:                ${pages(two.rest, 'player')}
   (WCS URL ws://${host}:${two.ws}, stream "stream1", Start)
   See the push: curl -X POST http://${host}:${one.rest}/rest-api/pull/find_all
Ctrl-C stops both servers.
`);

let exiting = false;
const stopAll = (): void => {
  if (exiting) return;
  exiting = true;
  for (const child of children) child.kill('SIGTERM');
};
process.on('SIGINT', stopAll);
process.on('SIGTERM', stopAll);
for (const child of children) {
  child.on('exit', (code) => {
    if (!exiting) {
      console.error(`a media server exited (code ${code}); stopping the demo`);
      stopAll();
      process.exitCode = 1;
    }
  });
}
