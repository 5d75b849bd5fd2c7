/**
 * Watches the raw bytes of a client's WebSocket stream and reports the first data frame whose
 * payload exceeds `maxFrameBytes`, from its header, before the frame is delivered. API Gateway
 * closes the connection with 1009 for a frame over 32 KiB even when the message would fit in its
 * 128 KiB; `ws` only limits whole messages, hence this RFC 6455 section 5.2 header walk.
 */
export function createFrameSizeGuard(
  maxFrameBytes: number,
  onOversized: (payloadBytes: number) => void,
): (chunk: Buffer) => void {
  let header: number[] = [];
  let skip = 0;
  let tripped = false;
  const headerLength = (): number | undefined => {
    const second = header[1];
    if (second === undefined) return undefined;
    const len7 = second & 0x7f;
    const extended = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
    return 2 + extended + ((second & 0x80) !== 0 ? 4 : 0);
  };
  return (chunk) => {
    let offset = 0;
    while (!tripped && offset < chunk.length) {
      if (skip > 0) {
        const n = Math.min(skip, chunk.length - offset);
        skip -= n;
        offset += n;
        continue;
      }
      header.push(chunk[offset] as number);
      offset += 1;
      const needed = headerLength();
      if (needed === undefined || header.length < needed) continue;
      const bytes = Buffer.from(header);
      const len7 = (bytes[1] as number) & 0x7f;
      const payload =
        len7 === 126 ? bytes.readUInt16BE(2) : len7 === 127 ? Number(bytes.readBigUInt64BE(2)) : len7;
      const opcode = (bytes[0] as number) & 0x0f;
      header = [];
      skip = payload;
      // Continuation (0), text (1) and binary (2) frames; control frames are capped at 125 bytes.
      if (opcode < 0x08 && payload > maxFrameBytes) {
        tripped = true;
        onOversized(payload);
      }
    }
  };
}
