import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A blank page on another origin (its own port on 127.0.0.1) that loads the Web SDK's browser bundles from
 * a media server's /demo/ (flashphoner.js, flashphoner-rest-api.js): what a WCS customer's own site does.
 * Its calls to the media server are cross-origin, so CORS is exercised as a browser enforces it.
 */
export class SdkPageServer {
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(mediaRestUrl: string): Promise<SdkPageServer> {
    const html = `<!DOCTYPE html><html><head>
<script src="${mediaRestUrl}/demo/flashphoner.js"></script>
<script src="${mediaRestUrl}/demo/flashphoner-rest-api.js"></script>
</head><body><div id="display" style="width:320px;height:240px"></div></body></html>`;
    const server = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      response.end(html);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return new SdkPageServer(server, `http://127.0.0.1:${port}/`);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** The parts of the Web SDK's browser globals the tests call (in page.evaluate; the Node build has no DOM). */
export type SdkHandler = (event: { info?: string; status?: string }) => void;
export interface SdkStream {
  on(status: string, handler: SdkHandler): SdkStream;
  publish(): void;
  play(): void;
  stop(): void;
  getInfo(): string;
  status(): string;
}
export interface SdkSession {
  on(status: string, handler: SdkHandler): SdkSession;
  createStream(options: Record<string, unknown>): SdkStream;
  disconnect(): void;
}
export interface SdkGlobals {
  Flashphoner: {
    init(options: object): void;
    createSession(options: Record<string, unknown>): SdkSession;
    constants: { SESSION_STATUS: Record<string, string>; STREAM_STATUS: Record<string, string> };
  };
  /** flashphoner-rest-api.js: the SDK's rest module. */
  FlashphonerRestApi: { instance(url: string, coreUrl?: string): SdkRestApi };
  document: { getElementById(id: string): unknown };
}
type Call = (...args: unknown[]) => Promise<unknown>;
export interface SdkRestApi {
  pull: { pull: Call; push: Call; terminate: Call; findAll: Call };
  stream: { find: Call; findAll: Call; terminate: Call };
  connection: { find: Call; findAll: Call; terminate: Call };
}
