/**
 * NAT rebinding of one path: after a `rebind` phase the client's packets reach the server from a new
 * source address and/or port, and the server's replies are translated back, as a NAT that lost its
 * mapping and made a new one. Port mapping is a bijection on 1024..65535 that shifts with every port
 * rebinding; ports below 1024 are left alone. Each address rebinding toggles between the path's client
 * address and its rebind address; a reset goes back to no rewriting (a run's later measurements then
 * see the client's own ports again). The NAT sits at the client's end of the path, as a home or
 * phone hotspot NAT does: the server's packets still on their way when the mapping changes reach a
 * port the client no longer has, as they would.
 */
import { ipv4Destination, ipv4Port, ipv4Source, isIpv4, rewriteIpv4Address, rewriteIpv4Port } from './packet.ts';

const PORT_BASE = 1024;
const PORT_RANGE = 65536 - PORT_BASE;
/** Shift per port rebinding: prime, far from small deltas, so consecutive mappings never collide. */
const PORT_STEP = 10007;

export function mapPort(port: number, generation: number): number {
  if (port < PORT_BASE || generation === 0) return port;
  return PORT_BASE + ((port - PORT_BASE + generation * PORT_STEP) % PORT_RANGE);
}

export function unmapPort(port: number, generation: number): number {
  if (port < PORT_BASE || generation === 0) return port;
  const shift = (generation * PORT_STEP) % PORT_RANGE;
  return PORT_BASE + ((port - PORT_BASE - shift + PORT_RANGE) % PORT_RANGE);
}

export class Rebinder {
  portGeneration = 0;
  addressRebound = false;

  constructor(
    /** 32-bit client address of the path. */
    private readonly clientAddress: number,
    /** 32-bit address the client appears from after an address rebinding. */
    private readonly rebindAddress: number,
  ) {}

  get active(): boolean {
    return this.portGeneration > 0 || this.addressRebound;
  }

  rebind(what: { port?: boolean; address?: boolean; reset?: boolean }): void {
    if (what.reset) {
      this.portGeneration = 0;
      this.addressRebound = false;
    }
    if (what.port) this.portGeneration++;
    if (what.address) this.addressRebound = !this.addressRebound;
  }

  /** The client's own port behind a port the server sees now (the same when ports are not rebound). */
  clientPort(port: number): number {
    return unmapPort(port, this.portGeneration);
  }

  /** Client -> server: rewrite the source. */
  translateUp(p: Uint8Array): void {
    if (!this.active || !isIpv4(p) || ipv4Source(p) !== this.clientAddress) return;
    if (this.portGeneration > 0) {
      const port = ipv4Port(p, 0);
      if (port >= 0) rewriteIpv4Port(p, 0, mapPort(port, this.portGeneration));
    }
    if (this.addressRebound) rewriteIpv4Address(p, 12, this.rebindAddress);
  }

  /** Server -> client: rewrite the destination back. */
  translateDown(p: Uint8Array): void {
    if (!this.active || !isIpv4(p)) return;
    const seenAs = this.addressRebound ? this.rebindAddress : this.clientAddress;
    if (ipv4Destination(p) !== seenAs) return;
    if (this.addressRebound) rewriteIpv4Address(p, 16, this.clientAddress);
    if (this.portGeneration > 0) {
      const port = ipv4Port(p, 2);
      if (port >= 0) rewriteIpv4Port(p, 2, unmapPort(port, this.portGeneration));
    }
  }
}
