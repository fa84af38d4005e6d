/**
 * Zip and tar.gz actions (docs/action-protocol.md#archives): detected by their first bytes and unpacked into a fresh
 * directory, zips with the proxy's own reader (zip-reader.ts, on node:zlib), tar.gz with node-tar. Entries that would
 * land outside the directory are refused.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';
import * as tar from 'tar';
import { readZip } from './zip-reader';

export type ArchiveType = 'zip' | 'tar.gz';

export const ARCHIVE_MESSAGES = Object.freeze({
  unsupported: 'There was an error uncompressing the action archive. The file type is unsupported',
  zip: 'There was an error uncompressing the action Zip archive.',
  tgz: 'There was an error uncompressing the action Tar GZ archive.',
});

/**
 * The most a zip action may unpack to, all entries together. The code limit is 48 MB compressed, and deflate reaches
 * about 1000:1, so without a bound a zip bomb in an action could claim tens of GB of the disk its temp directory is
 * on (a process runtime unpacks into the host's). JavaScript and node_modules compress some 3–10 times, so a real
 * action stays well within 1 GiB. In a container the tmpfs at /tmp (`docker.tmpSize`) is the tighter bound.
 */
export const MAX_UNPACKED_ZIP_BYTES = 1024 * 1024 * 1024;

export function archiveType(data: Buffer): ArchiveType | undefined {
  if (data.length >= 4 && data[0] === 0x50 && data[1] === 0x4b && data[2] === 0x03 && data[3] === 0x04) return 'zip';
  if (data.length >= 4 && data[0] === 0x1f && data[1] === 0x8b && data[2] === 0x08 && (data[3] === 0x00 || data[3] === 0x08)) return 'tar.gz';
  return undefined;
}

/** Unpacks `data` into `dir`; throws an Error whose message is OpenWhisk's for the archive type. */
export async function extractArchive(data: Buffer, dir: string): Promise<void> {
  const type = archiveType(data);
  if (type === undefined) throw new Error(ARCHIVE_MESSAGES.unsupported);
  try {
    if (type === 'zip') await extractZip(data, dir);
    else await tar.x({ input: data, cwd: dir, strict: true });
  } catch (error) {
    throw new Error(type === 'zip' ? ARCHIVE_MESSAGES.zip : ARCHIVE_MESSAGES.tgz, { cause: error });
  }
}

function inside(dir: string, name: string): string {
  const root = resolve(dir);
  const target = resolve(root, name);
  if (target !== root && !target.startsWith(root + sep)) throw new Error(`archive entry escapes the action directory: ${name}`);
  return target;
}

async function extractZip(data: Buffer, dir: string): Promise<void> {
  for await (const entry of readZip(data, { maxTotalSize: MAX_UNPACKED_ZIP_BYTES })) {
    // The reader refuses `..` and absolute names already; this keeps the guarantee where the path is used.
    const target = inside(dir, entry.name);
    if (entry.directory) {
      await mkdir(target, { recursive: true });
      continue;
    }
    await mkdir(dirname(target), { recursive: true });
    // `wx`: never through or over something already there (the directory is fresh, so only an earlier entry could be).
    await writeFile(target, entry.data, { mode: (entry.mode ?? 0) & 0o777 || 0o644, flag: 'wx' });
  }
}
