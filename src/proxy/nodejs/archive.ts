/**
 * Zip and tar.gz actions (docs/action-protocol.md#archives): detected by their first bytes, unpacked with well-kept
 * libraries (yauzl, node-tar) into a fresh directory. Entries that would land outside it are refused.
 */
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar';
import * as yauzl from 'yauzl';

export type ArchiveType = 'zip' | 'tar.gz';

export const ARCHIVE_MESSAGES = Object.freeze({
  unsupported: 'There was an error uncompressing the action archive. The file type is unsupported',
  zip: 'There was an error uncompressing the action Zip archive.',
  tgz: 'There was an error uncompressing the action Tar GZ archive.',
});

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

function extractZip(data: Buffer, dir: string): Promise<void> {
  return new Promise((done, fail) => {
    yauzl.fromBuffer(data, { lazyEntries: true, decodeStrings: true, validateEntrySizes: true }, (openError, zip) => {
      if (openError || zip === undefined) return fail(openError ?? new Error('cannot open zip'));
      zip.on('error', fail);
      zip.on('end', () => done());
      zip.on('entry', (entry: yauzl.Entry) => {
        let target: string;
        try {
          target = inside(dir, entry.fileName);
        } catch (error) {
          zip.close();
          return fail(error);
        }
        if (entry.fileName.endsWith('/')) {
          mkdir(target, { recursive: true }).then(() => zip.readEntry(), fail);
          return;
        }
        zip.openReadStream(entry, (streamError, stream) => {
          if (streamError || stream === undefined) return fail(streamError ?? new Error('cannot read zip entry'));
          mkdir(dirname(target), { recursive: true })
            .then(() => pipeline(stream, createWriteStream(target, { mode: (entry.externalFileAttributes >>> 16) & 0o777 || 0o644 })))
            .then(() => zip.readEntry(), fail);
        });
      });
      zip.readEntry();
    });
  });
}
