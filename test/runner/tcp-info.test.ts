import { describe, expect, it } from 'vitest';
import { parseSsOutput } from '../../src/workloads/tcp-info.ts';

// Captured from `ss -tin` on Debian 12 (iproute2 6.1).
const SAMPLE = `State Recv-Q Send-Q Local Address:Port Peer Address:Port Process
ESTAB 0      0      198.18.0.10:41234   198.18.0.1:8443
	 cubic wscale:7,7 rto:312 rtt:104.2/3.1 ato:40 mss:1448 pmtu:1500 rcvmss:1448 advmss:1448 cwnd:14 ssthresh:9 bytes_sent:5231 bytes_retrans:1448 bytes_acked:3784 bytes_received:1038402 segs_out:402 segs_in:731 data_segs_out:12 data_segs_in:722 send 1.56Mbps lastsnd:8 lastrcv:4 lastack:4 pacing_rate 3.11Mbps delivery_rate 1.8Mbps delivered:11 busy:2100ms retrans:0/3 lost:1 rcv_rtt:105 rcv_space:14480 rcv_ssthresh:64088 minrtt:100.1
ESTAB 0      0      127.0.0.1:59510   127.0.0.1:18080
	 bbr wscale:10,10 rto:200 rtt:0.04/0.02 mss:32741 cwnd:10 bytes_acked:1 segs_out:2 segs_in:1
`;

describe('parseSsOutput', () => {
  it('reads rtt, cwnd in bytes, retransmissions and counts per connection', () => {
    const [first, second] = parseSsOutput(SAMPLE);
    expect(first).toMatchObject({
      localPort: 41234,
      remotePort: 8443,
      rttMs: 104.2,
      cwndBytes: 14 * 1448,
      retransmittedPackets: 3,
      lostPackets: 1,
      sentBytes: 5231,
      recvBytes: 1038402,
      sentPackets: 402,
      recvPackets: 731,
    });
    expect(second).toMatchObject({ localPort: 59510, remotePort: 18080, rttMs: 0.04, cwndBytes: 10 * 32741, lostPackets: 0 });
  });
});
