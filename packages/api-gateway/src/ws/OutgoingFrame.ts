/**
 * A server frame encoded once for every socket it goes to. Fan-out hands the same
 * `OutgoingFrame` to all recipients: its JSON text is what in-process sockets (and Connect
 * streams) read, and its bytes on the wire — an unmasked, final WebSocket text frame (RFC 6455
 * §5.2: header and UTF-8 payload in one Buffer) — are built on first use and then shared, so a
 * recipient costs one `write` of an existing Buffer: no UTF-8 encoding, header or allocation of
 * its own.
 */
export class OutgoingFrame {
  readonly json: string
  private bytes: Buffer | undefined = undefined

  constructor(json: string) {
    this.json = json
  }

  /** The whole WebSocket frame, built once. */
  get wire(): Buffer {
    this.bytes ??= textFrameBytes(this.json)
    return this.bytes
  }
}

const FIN_TEXT = 0x81
const LENGTH_16 = 126
const LENGTH_64 = 127

/** `text` as one unmasked final text frame: 2-, 4- or 10-byte header, then the UTF-8 payload. */
export const textFrameBytes = (text: string): Buffer => {
  const length = Buffer.byteLength(text)
  const header = length < LENGTH_16 ? 2 : length < 0x10000 ? 4 : 10
  const bytes = Buffer.allocUnsafe(header + length)
  bytes[0] = FIN_TEXT
  if (header === 2) {
    bytes[1] = length
  } else if (header === 4) {
    bytes[1] = LENGTH_16
    bytes.writeUInt16BE(length, 2)
  } else {
    bytes[1] = LENGTH_64
    bytes.writeUInt32BE(Math.floor(length / 0x1_0000_0000), 2)
    bytes.writeUInt32BE(length % 0x1_0000_0000, 6)
  }
  bytes.write(text, header, "utf8")
  return bytes
}
