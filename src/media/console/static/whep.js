/**
 * A minimal WHEP player (RFC 9725): one POST of a recvonly offer with every ICE candidate gathered, the 201's
 * answer applied, DELETE of the session's Location on stop.
 */
export class WhepPlayer {
  #pc;
  #location;
  #headers;

  /** @param {Record<string, string>} headers e.g. a bearer token the server's hooks check */
  constructor(headers = {}) {
    this.#headers = headers;
  }

  /**
   * Plays `url` into `video`; resolves once the answer is applied.
   * @param {string} url
   * @param {HTMLVideoElement} video
   */
  async play(url, video) {
    const pc = new RTCPeerConnection();
    this.#pc = pc;
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    const stream = new MediaStream();
    pc.ontrack = (event) => {
      stream.addTrack(event.track);
      video.srcObject = stream;
      video.play().catch(() => undefined);
    };
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc, 2000);
    const response = await fetch(url, {
      method: 'POST',
      headers: { ...this.#headers, 'content-type': 'application/sdp' },
      body: pc.localDescription.sdp,
    });
    const text = await response.text();
    if (response.status !== 201) {
      let reason = text;
      try {
        const problem = JSON.parse(text);
        reason = `${problem.code ?? response.status}: ${problem.message ?? problem.detail ?? text}`;
      } catch {
        // a text answer says it as it is
      }
      throw new Error(reason || `WHEP answered ${response.status}`);
    }
    const location = response.headers.get('location');
    this.#location = location ? new URL(location, response.url).href : undefined;
    await pc.setRemoteDescription({ type: 'answer', sdp: text });
  }

  /** The connection's state: new, connecting, connected, failed, closed. */
  get state() {
    return this.#pc?.connectionState ?? 'closed';
  }

  async stop() {
    const pc = this.#pc;
    this.#pc = undefined;
    const location = this.#location;
    this.#location = undefined;
    // the DELETE first: closing the connection first sends DTLS close_notify, on which the server ends the
    // session by itself, and the DELETE would then find no session (404)
    if (location) await fetch(location, { method: 'DELETE', headers: this.#headers }).catch(() => undefined);
    pc?.close();
  }
}

/** Waits for ICE gathering to complete, at most `ms`: the offer then carries its candidates. */
function gathered(pc, ms) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState !== 'complete') return;
      clearTimeout(timer);
      resolve();
    });
  });
}
