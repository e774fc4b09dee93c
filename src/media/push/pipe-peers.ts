import { isIP } from 'node:net';
import { PipeRefusalCode } from '../../contracts/wcs-protocol.js';
import { StreamfedError } from '../errors.js';
import { AddressRanges, isLoopbackIp, plainAddress } from '../addresses.js';

/**
 * A pipe request refused before anything was made for it (wcs-protocol.ts `streamfedPipeRefused`): thrown
 * where the server decides, and where the client reads the refusal, which then goes on over WebRTC.
 */
export class PipeRefusedError extends StreamfedError {
  declare readonly code: PipeRefusalCode;
  constructor(code: PipeRefusalCode, message: string) {
    super(code, 403, message);
  }
}

const UNSPECIFIED = new AddressRanges(['0.0.0.0/8', '::/128']);

/**
 * Where this server lets a pipe offer (a push into it, a pull from it) send: a PipeTransport is connected to
 * the offered tuple with no consent check (WebRTC has ICE's), so a caller-chosen address would make this
 * server stream media (or RTCP) at anyone. Allowed: the signalling peer's own address, or an address inside
 * `--pipe-peers` (addresses and CIDRs: the pipe addresses of servers whose signalling comes through a proxy
 * or from another address). A loopback address only from a loopback peer; an unspecified one never.
 */
export class PipePeerPolicy {
  readonly #allowed: AddressRanges;

  /** `entries`: addresses and CIDRs (a name is refused: the check is on the offered address). */
  constructor(entries: readonly string[]) {
    try {
      this.#allowed = new AddressRanges(entries.map((e) => e.trim()).filter(Boolean));
    } catch (error) {
      throw new Error(`--pipe-peers takes addresses and CIDRs: ${(error as Error).message}`);
    }
  }

  /** Throws PipeRefusedError unless `peer` (the signalling connection's remote address) may have a pipe sent to `offered`. */
  check(offered: string, peer: string | undefined): void {
    const ip = plainAddress(offered.trim());
    const from = plainAddress((peer ?? '').trim());
    const refuse = (why: string): never => {
      throw new PipeRefusedError(
        PipeRefusalCode.PEER_NOT_ALLOWED,
        `pipe to ${ip} refused for a peer at ${from || 'an unknown address'}: ${why}`,
      );
    };
    if (isIP(ip) === 0) refuse('not an IP address');
    if (UNSPECIFIED.has(ip)) refuse('an unspecified address');
    if (isLoopbackIp(ip) && !isLoopbackIp(from)) refuse('a loopback address from a peer that is not');
    if (isIP(from) !== 0 && new AddressRanges([from]).has(ip)) return;
    if (this.#allowed.has(ip)) return;
    refuse("neither the peer's own address nor in --pipe-peers");
  }
}
