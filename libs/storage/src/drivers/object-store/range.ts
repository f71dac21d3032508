// The offset rules of StorageDriver.reader() on an object store, shared by the s3, gcs and azure
// drivers: a ranged GET answers 416 at or past the end, where reading at exactly the end must be
// an empty read and only past it InvalidOffset; a zero-length read sends no GET at all.
import { Readable } from 'node:stream';
import { InvalidOffsetError } from '../../errors.js';

export interface RangedObject {
  /** Starts the (ranged) download; rejects before any byte is read when the object or range is bad. */
  open(): Promise<Readable>;
  /** The object's size (PathNotFound when missing). */
  size(): Promise<number>;
  isInvalidRange(err: unknown): boolean;
}

export async function readRange(driver: string, path: string, offset: number, length: number | undefined, object: RangedObject): Promise<Readable> {
  if (length === 0) {
    const size = await object.size();
    if (offset > size) throw new InvalidOffsetError(driver, path, offset);
    return Readable.from([]);
  }
  try {
    return await object.open();
  } catch (err) {
    if (!object.isInvalidRange(err)) throw err;
    const size = await object.size();
    if (offset === size) return Readable.from([]);
    throw new InvalidOffsetError(driver, path, offset, err);
  }
}
