/**
 * A media server in its own process for benchmarks (run by bench/support/media-host-process.ts), with
 * one extra door the product does not have: over the IPC channel the bench can pipe a published stream's
 * producers to a mediasoup PipeTransport in another process, the "mediasoup only" baseline.
 */
import type * as ms from 'mediasoup/types';
import { startMedia } from '../../test/support/media-server.js';

export type HostRequest =
  { id: number; cmd: 'pipe'; name: string; port: number } | { id: number; cmd: 'unpipe'; name: string };

export interface PipedProducer {
  kind: ms.MediaKind;
  producerId: string;
  rtpParameters: ms.RtpParameters;
}

export type HostMessage =
  | { type: 'ready'; wsUrl: string; restUrl: string }
  | { type: 'reply'; id: number; port?: number; producers?: PipedProducer[]; error?: string };

const send = (message: HostMessage): void => {
  process.send?.(message);
};

const rtcMinPort = Number(process.env['HOST_RTC_MIN_PORT'] ?? 47000);
const media = await startMedia({ listen: { workers: 1, rtcMinPort, rtcMaxPort: rtcMinPort + 499 } });
const pipes = new Map<string, ms.PipeTransport>();

async function pipe(name: string, port: number): Promise<{ port: number; producers: PipedProducer[] }> {
  const publisher = media.server.streams.publisher(name);
  if (!publisher) throw new Error(`no stream ${name}`);
  const transport = await publisher.router.createPipeTransport({
    listenInfo: { protocol: 'udp', ip: '127.0.0.1' },
  });
  pipes.set(name, transport);
  await transport.connect({ ip: '127.0.0.1', port });
  const producers: PipedProducer[] = [];
  for (const producer of publisher.producers.values()) {
    const consumer = await transport.consume({ producerId: producer.id });
    producers.push({ kind: consumer.kind, producerId: producer.id, rtpParameters: consumer.rtpParameters });
  }
  return { port: transport.tuple.localPort, producers };
}

process.on('message', (request: HostRequest) => {
  const run = async (): Promise<Omit<Extract<HostMessage, { type: 'reply' }>, 'type' | 'id'>> => {
    if (request.cmd === 'pipe') return pipe(request.name, request.port);
    pipes.get(request.name)?.close();
    pipes.delete(request.name);
    return {};
  };
  run().then(
    (reply) => send({ type: 'reply', id: request.id, ...reply }),
    (error: unknown) => send({ type: 'reply', id: request.id, error: (error as Error).message }),
  );
});
process.on('disconnect', () => void media.stop().finally(() => process.exit(0)));
send({ type: 'ready', wsUrl: media.wsUrl, restUrl: media.restUrl });
