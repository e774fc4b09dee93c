import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';

/** A blank page that loads the Web SDK's browser bundles from a media server's /demo/, with a `#display` div. */
export const sdkPageHtml = (mediaRestUrl: string): string => `<!DOCTYPE html><html><head>
<script src="${mediaRestUrl}/demo/flashphoner.js"></script>
<script src="${mediaRestUrl}/demo/flashphoner-rest-api.js"></script>
</head><body><div id="display" style="width:320px;height:240px"></div></body></html>`;

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
    const html = sdkPageHtml(mediaRestUrl);
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

/**
 * On a page that loaded the SDK (sdkPageHtml): connects a session to `wsUrl` (`sessionOptions` beside
 * urlServer, e.g. mediaOptions) and publishes or plays `name` in `#display`, as an application does. Resolves
 * with the stream's status at PUBLISHING, PLAYING or FAILED (or SESSION_FAILED) and its info.
 */
export async function sdkStream(
  page: Page,
  wsUrl: string,
  name: string,
  publish: boolean,
  sessionOptions: Record<string, unknown> = {},
): Promise<{ status: string; info: string }> {
  return page.evaluate(
    ({ wsUrl, name, publish, sessionOptions }) => {
      const g = globalThis as unknown as SdkGlobals;
      const fp = g.Flashphoner;
      fp.init({});
      const S = fp.constants.SESSION_STATUS;
      const T = fp.constants.STREAM_STATUS;
      return new Promise<{ status: string; info: string }>((resolve) => {
        const session = fp.createSession({ ...sessionOptions, urlServer: wsUrl });
        session.on(S['FAILED'] ?? '', () => resolve({ status: 'SESSION_FAILED', info: '' }));
        session.on(S['ESTABLISHED'] ?? '', () => {
          const stream = session.createStream({ name, display: g.document.getElementById('display') });
          for (const s of [T['PUBLISHING'], T['PLAYING'], T['FAILED']])
            stream.on(s ?? '', () => resolve({ status: stream.status(), info: stream.getInfo() ?? '' }));
          if (publish) stream.publish();
          else stream.play();
        });
      });
    },
    { wsUrl, name, publish, sessionOptions },
  );
}
