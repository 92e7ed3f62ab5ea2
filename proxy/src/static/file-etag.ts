import type { BigIntStats } from 'node:fs';

/**
 * The validators of a file: a strong ETag and a Last-Modified time.
 *
 * The ETag is built from inode, size and the nanosecond mtime, as nginx and Apache build theirs
 * (with finer time). The inode makes an atomic-rename deploy of a same-size file with a preserved
 * mtime (`cp -p`, `rsync -t`) a different tag, so If-Range never splices bytes of two versions; the
 * price is that two hosts serving copies of the same tree give different tags for the same bytes
 * (a cache miss, never wrong content). The tag is strong: the bytes are served as stored, with no
 * content coding, so equal tags mean equal bytes as far as the file system can tell.
 */
export interface FileValidators {
  /** Quoted strong entity-tag, e.g. `"1a2b-400-17f3c2a9b4e01d00"`. */
  readonly etag: string;
  /** Whole seconds since the epoch, never later than the time of the response (RFC 9110 §8.8.2.1). */
  readonly lastModified: number;
  /**
   * Whether Last-Modified is a strong validator (RFC 9110 §8.8.2.2): the file last changed at least
   * a second before now, so a second change within the same second cannot hide behind it.
   */
  readonly lastModifiedStrong: boolean;
}

export function fileValidators(stats: BigIntStats, nowSeconds: number): FileValidators {
  const etag = `"${stats.ino.toString(16)}-${stats.size.toString(16)}-${stats.mtimeNs.toString(16)}"`;
  const mtimeSeconds = Math.floor(Number(stats.mtimeNs / 1_000_000_000n));
  const now = Math.floor(nowSeconds);
  return {
    etag,
    lastModified: Math.min(mtimeSeconds, now),
    lastModifiedStrong: mtimeSeconds < now,
  };
}
