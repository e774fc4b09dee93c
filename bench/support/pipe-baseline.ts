import { randomUUID } from 'node:crypto';
import type * as ms from 'mediasoup/types';
import type { MediaServer } from '../../src/media/media-server.js';
import { Publisher } from '../../src/media/streams/publisher.js';
import { StreamInfo, StreamStatus } from '../../src/media/streams/status.js';
import type { MediaHost } from './media-host-process.js';

/**
 * The baseline for the push path: the stream `name` on the host goes to `server` over a mediasoup
 * PipeTransport (plain RTP between the two workers, no Node on the media path) and is published there
 * as `as`, so the same WCS players can play it.
 */
export async function pipeStream(
  host: MediaHost,
  name: string,
  server: MediaServer,
  as: string,
): Promise<{ close(): Promise<void> }> {
  const router = server.engine.routers()[0]!;
  const transport = await router.createPipeTransport({ listenInfo: { protocol: 'udp', ip: '127.0.0.1' } });
  const init = { appKey: 'bench', sessionId: 'bench-pipe', mediaSessionId: randomUUID(), name: as };
  try {
    const remote = await host.pipe(name, transport.tuple.localPort);
    await transport.connect({ ip: '127.0.0.1', port: remote.port });
    const { session } = await server.streams.publishWith(init, async () => {
      const producers = new Map<'audio' | 'video', ms.Producer>();
      for (const p of remote.producers)
        producers.set(p.kind, await transport.produce({ kind: p.kind, rtpParameters: p.rtpParameters }));
      return { session: new Publisher(init, { transport, router, producers }) };
    });
    session.connected();
    return {
      close: async () => {
        session.end(StreamStatus.UNPUBLISHED, StreamInfo.STOPPED_BY_PUBLISHER_STOP);
        await host.unpipe(name);
      },
    };
  } catch (error) {
    transport.close();
    throw error;
  }
}
