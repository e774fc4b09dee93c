import type { Browser, Page } from 'playwright-core';
import { demoPage, framesDecoded } from './browser.js';
import { waitFor } from './media-server.js';

/** Drives the official "Two Way Streaming" demo page of @flashphoner/websdk. */
export class TwoWayStreamingPage {
  private constructor(readonly page: Page) {}

  static async open(browser: Browser, restUrl: string, wsUrl: string): Promise<TwoWayStreamingPage> {
    const page = await browser.newPage();
    await page.goto(demoPage(restUrl, 'two_way_streaming'));
    await page.fill('#urlServer', wsUrl);
    await page.click('#connectBtn');
    await waitFor(async () => (await page.textContent('#connectStatus')) === 'ESTABLISHED', 'ESTABLISHED');
    return new TwoWayStreamingPage(page);
  }

  async publish(name: string): Promise<void> {
    await this.page.fill('#publishStream', name);
    await this.page.click('#publishBtn');
  }

  async play(name: string): Promise<void> {
    await this.page.fill('#playStream', name);
    await this.page.click('#playBtn');
  }

  publishStatus(): Promise<string | null> {
    return this.page.textContent('#publishStatus');
  }
  publishInfo(): Promise<string | null> {
    return this.page.textContent('#publishInfo');
  }
  playStatus(): Promise<string | null> {
    return this.page.textContent('#playStatus');
  }
  playInfo(): Promise<string | null> {
    return this.page.textContent('#playInfo');
  }

  async waitPublishStatus(status: string, timeoutMs = 20_000): Promise<void> {
    await waitFor(async () => (await this.publishStatus()) === status, `publish status ${status}`, timeoutMs);
  }
  async waitPlayStatus(status: string, timeoutMs = 20_000): Promise<void> {
    await waitFor(async () => (await this.playStatus()) === status, `play status ${status}`, timeoutMs);
  }

  /** Clicks the publish button again: it reads "Stop" while publishing. */
  async stopPublishing(): Promise<void> {
    await this.page.click('#publishBtn');
  }
  async stopPlaying(): Promise<void> {
    await this.page.click('#playBtn');
  }

  framesDecoded(): Promise<number> {
    return framesDecoded(this.page, '#remoteVideo');
  }

  /**
   * Publishes or plays `name` straight through the SDK on this page's session (as an application would,
   * without the page's buttons; `options` go to createStream) and returns the statuses the SDK's stream object went through, up to its
   * first final or live one (or all it had seen after `timeoutMs`, so a stream stuck in PENDING shows).
   */
  async sdkStream(
    name: string,
    publish: boolean,
    options: Record<string, unknown> = {},
    timeoutMs = 20_000,
  ): Promise<{ statuses: string[]; info: string | undefined }> {
    return this.page.evaluate(
      ({ name, publish, options, timeoutMs }) => {
        type Stream = {
          on(event: string, f: (s: Stream) => void): Stream;
          publish(): void;
          play(): void;
          getInfo(): string | undefined;
        };
        type Sdk = {
          getSessions(): { createStream(o: Record<string, unknown>): Stream }[];
          constants: { STREAM_STATUS: Record<string, string> };
        };
        const g = globalThis as unknown as {
          Flashphoner: Sdk;
          document: { getElementById(id: string): unknown };
        };
        const sdk = g.Flashphoner;
        const display = g.document.getElementById(publish ? 'localVideo' : 'remoteVideo');
        return new Promise<{ statuses: string[]; info: string | undefined }>((resolve) => {
          const statuses: string[] = [];
          const stream = sdk.getSessions()[0]!.createStream({ ...options, name, display });
          const end = (): void => resolve({ statuses, info: stream.getInfo() });
          const timer = setTimeout(end, timeoutMs);
          for (const status of Object.values(sdk.constants.STREAM_STATUS)) {
            stream.on(status, () => {
              statuses.push(status);
              if (status !== 'PENDING') {
                clearTimeout(timer);
                end();
              }
            });
          }
          if (publish) stream.publish();
          else stream.play();
        });
      },
      { name, publish, options, timeoutMs },
    );
  }
}

/** Drives the official "Player" demo page. */
export class PlayerPage {
  private constructor(readonly page: Page) {}

  /** `query` is the page's own URL parameters, e.g. `?resolution=640x480`. */
  static async open(
    browser: Browser,
    restUrl: string,
    wsUrl: string,
    name: string,
    query = '',
  ): Promise<PlayerPage> {
    const page = await browser.newPage();
    await page.goto(`${demoPage(restUrl, 'player')}${query}`);
    await page.fill('#url', wsUrl);
    await page.fill('#streamName', name);
    await page.click('#playBtn');
    return new PlayerPage(page);
  }

  status(): Promise<string | null> {
    return this.page.textContent('#status');
  }

  async waitStatus(status: string, timeoutMs = 20_000): Promise<void> {
    await waitFor(async () => (await this.status()) === status, `player status ${status}`, timeoutMs);
  }

  framesDecoded(): Promise<number> {
    return framesDecoded(this.page, '#remoteVideo');
  }

  async stop(): Promise<void> {
    await this.page.click('#playBtn');
  }
}

/**
 * Drives the official "Stream Auto Restore" demo page, unmodified: connect, publish (its random stream
 * name), then leave it alone: with "Restore connection" checked (its default) the page itself reconnects and
 * publishes again when the session or stream FAILS (every 3 s, 100 tries).
 */
export class AutoRestorePage {
  private constructor(readonly page: Page) {}

  static async open(browser: Browser, pageUrl: string, wsUrl: string): Promise<AutoRestorePage> {
    const page = await browser.newPage();
    await page.goto(pageUrl);
    await page.fill('#urlServer', wsUrl);
    await page.click('#connectBtn');
    const opened = new AutoRestorePage(page);
    await waitFor(async () => (await opened.connectStatus()) === 'ESTABLISHED', 'ESTABLISHED');
    await page.click('#publishBtn');
    await opened.waitPublishStatus('PUBLISHING');
    return opened;
  }

  /** The page's URL on a media server's /demo/ (the page loads the SDK from there). */
  static url(restUrl: string): string {
    return demoPage(restUrl, 'stream-auto-restore');
  }

  /** The stream name the page publishes. */
  streamName(): Promise<string> {
    return this.page.inputValue('#publishStream');
  }
  connectStatus(): Promise<string | null> {
    return this.page.textContent('#connectStatus');
  }
  publishStatus(): Promise<string | null> {
    return this.page.textContent('#publishStatus');
  }

  async waitPublishStatus(status: string, timeoutMs = 20_000): Promise<void> {
    await waitFor(async () => (await this.publishStatus()) === status, `publish status ${status}`, timeoutMs);
  }
}
