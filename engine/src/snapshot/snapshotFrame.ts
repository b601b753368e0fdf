import { createHash } from 'node:crypto';

/**
 * The frame every engine snapshot (the engine state, a vector index) is written in: magic (8) ·
 * format (u32) · a field of the writer's (u32) · body length (f64) · SHA-256 of the rest (32) · body.
 */
export const FRAME_HEADER = 8 + 4 + 4 + 8 + 32;

/** Why a snapshot was refused. */
export type SnapshotRefusal =
  | 'truncated'
  | 'not-a-snapshot'
  | 'format'
  | 'checksum'
  | 'corrupt'
  /** A vector index snapshot of another vector length than the index restoring it. */
  | 'dimension'
  /** A vector index snapshot of another precision (float32, int8) than the index restoring it. */
  | 'precision';

/** Thrown when snapshot bytes cannot be trusted; `reason` says why, the message says what to do. */
export class EngineSnapshotError extends Error {
  constructor(
    readonly reason: SnapshotRefusal,
    message: string,
  ) {
    super(message);
    this.name = 'EngineSnapshotError';
  }
}

/** What a frame holds, for its messages: `name` reads "not {name}", `label` "{label} format 2". */
export interface FrameKind {
  magic: Buffer;
  format: number;
  name: string;
  label: string;
}

/** Fills in the header of `out` (body after {@link FRAME_HEADER}) and seals it with its SHA-256. */
export function sealFrame(out: Buffer, kind: FrameKind, field: number, bodyLength: number): void {
  kind.magic.copy(out, 0);
  out.writeUInt32LE(kind.format, 8);
  out.writeUInt32LE(field, 12);
  out.writeDoubleLE(bodyLength, 16);
  frameDigest(out).copy(out, 24);
}

/** Checks magic and format (not lengths nor checksum) and returns the writer's field and body length. */
export function openFrame(
  bytes: Uint8Array,
  kind: FrameKind,
): { buf: Buffer; field: number; bodyLength: number } {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magicOk = buf.subarray(0, 8).equals(kind.magic);
  if (buf.length >= 8 && !magicOk) {
    throw new EngineSnapshotError('not-a-snapshot', `not ${kind.name} (wrong magic bytes)`);
  }
  if (buf.length < FRAME_HEADER) {
    throw new EngineSnapshotError('truncated', `truncated: ${buf.length} bytes, shorter than the header`);
  }
  const format = buf.readUInt32LE(8);
  if (format !== kind.format) {
    throw new EngineSnapshotError(
      'format',
      `${kind.label} format ${format}, this engine reads format ${kind.format}`,
    );
  }
  return { buf, field: buf.readUInt32LE(12), bodyLength: buf.readDoubleLE(16) };
}

/** Throws unless the frame's SHA-256 matches its bytes. */
export function verifyFrame(buf: Buffer, kind: FrameKind): void {
  if (!frameDigest(buf).equals(buf.subarray(24, FRAME_HEADER))) {
    throw new EngineSnapshotError('checksum', `checksum mismatch in ${kind.name}: it was altered or torn`);
  }
}

function frameDigest(buf: Buffer): Buffer {
  return createHash('sha256').update(buf.subarray(0, 24)).update(buf.subarray(FRAME_HEADER)).digest();
}
