import { describe, expect, it } from 'vitest';
import { createFrameSizeGuard } from './frame-size-guard.ts';

/** A masked client frame header (RFC 6455 5.2) followed by its payload. */
function clientFrame(payloadBytes: number, opcode = 0x1, fin = true): Buffer {
  const head =
    payloadBytes < 126
      ? Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | payloadBytes])
      : payloadBytes < 65536
        ? Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | 126, payloadBytes >> 8, payloadBytes & 0xff])
        : Buffer.concat([Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | 127]), bigEndian64(payloadBytes)]);
  return Buffer.concat([head, Buffer.from([1, 2, 3, 4]), Buffer.alloc(payloadBytes, 0x61)]);
}

function bigEndian64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

function feed(chunks: Buffer[], max = 32 * 1024): number[] {
  const seen: number[] = [];
  const guard = createFrameSizeGuard(max, (bytes) => seen.push(bytes));
  for (const chunk of chunks) guard(chunk);
  return seen;
}

describe('createFrameSizeGuard', () => {
  it('passes frames of up to 32 KiB, in any chunking', () => {
    const stream = Buffer.concat([
      clientFrame(10),
      clientFrame(32 * 1024),
      clientFrame(200, 0x0),
      clientFrame(0),
    ]);
    expect(feed([stream])).toStrictEqual([]);
    expect(feed([...stream].map((b) => Buffer.from([b])))).toStrictEqual([]);
  });

  it('reports a 16-bit-length frame over 32 KiB from its header alone', () => {
    const frame = clientFrame(32 * 1024 + 1);
    expect(feed([frame.subarray(0, 8)])).toStrictEqual([32 * 1024 + 1]);
  });

  it('reports a 64-bit-length frame and a continuation frame that are too large, after good frames', () => {
    expect(feed([clientFrame(100), clientFrame(70_000).subarray(0, 20)])).toStrictEqual([70_000]);
    expect(feed([clientFrame(20_000, 0x1, false), clientFrame(40_000, 0x0)])).toStrictEqual([40_000]);
  });

  it('reports only once', () => {
    expect(feed([clientFrame(40_000), clientFrame(40_000)])).toStrictEqual([40_000]);
  });
});
