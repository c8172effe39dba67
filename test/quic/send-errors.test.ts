/**
 * A connection whose quiche send keeps failing must not keep the event loop busy: the send loop
 * stops on the error instead of rescheduling itself (a cell once spun at full CPU that way).
 */
import { describe, expect, it } from 'vitest';
import type { NativeConnection } from '../../src/quic/binding.ts';
import { QuicConnection } from '../../src/quic/connection.ts';

describe('QUIC send loop on a failing send', () => {
  it('stops after the error and does not spin', async () => {
    let sends = 0;
    const native = {
      send: () => {
        sends++;
        throw new Error('InvalidState');
      },
      timeout: () => null,
      isClosed: () => false,
      isEstablished: () => false,
      pathEventNext: () => null,
    } as unknown as NativeConnection;
    const writer = { write: () => 1, flush: () => 0 };
    const here = { host: '127.0.0.1', port: 1 };
    const conn = new QuicConnection(native, 'client', writer, here, here);
    conn.scheduleFlush();
    await new Promise((r) => setTimeout(r, 50));
    expect(sends).toBe(1);
    expect(conn.sendLoop.turns).toBe(1);
    expect(conn.sendLoop.sendErrors).toBe(1);
  });
});
