/**
 * The proxy's zip reader (src/proxy/nodejs/zip-reader.ts) against archives an attacker would send, built with
 * test/conformance/zip.ts and then patched byte by byte where that writer would not produce them; and against zips
 * written by Python's zipfile (and Info-ZIP's zip where installed), read back identically. Then extractArchive, which
 * unpacks a zipped action with it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 as zlibCrc32, deflateRawSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { ARCHIVE_MESSAGES, MAX_UNPACKED_ZIP_BYTES, extractArchive } from '../../src/proxy/nodejs/archive';
import { InvalidZipError, readZip, type ZipEntry, type ZipReadOptions } from '../../src/proxy/nodejs/zip-reader';
import { zip } from '../conformance/zip';

const ROOMY: ZipReadOptions = { maxTotalSize: 1024 * 1024 * 1024 };

const scratch: string[] = [];
afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});
function scratchDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ew-zip-reader-'));
  scratch.push(dir);
  return dir;
}

async function read(archive: Buffer, options: ZipReadOptions = ROOMY): Promise<ZipEntry[]> {
  const entries: ZipEntry[] = [];
  for await (const entry of readZip(archive, options)) entries.push(entry);
  return entries;
}

/** The reader's refusal of `archive`; fails the test if it is accepted or fails with another kind of error. */
async function refusal(archive: Buffer, options: ZipReadOptions = ROOMY): Promise<InvalidZipError> {
  let entries: ZipEntry[];
  try {
    entries = await read(archive, options);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidZipError);
    return error as InvalidZipError;
  }
  throw new Error(`accepted: ${JSON.stringify(entries.map((e) => e.name))}`);
}

// Field offsets from APPNOTE.TXT, for patching.
const LOCAL = { flags: 6, method: 8, crc: 14, compressedSize: 18, size: 22, nameLength: 26, extraLength: 28, name: 30 };
const CENTRAL = { madeBy: 4, flags: 8, method: 10, crc: 16, compressedSize: 20, size: 24, nameLength: 28, extraLength: 30, disk: 34, external: 38, offset: 42, name: 46 };
const END = { disk: 4, directoryDisk: 6, countHere: 8, count: 10, directorySize: 12, directoryOffset: 16, commentLength: 20 };

/** Where the records of an archive from test/conformance/zip.ts are (no comment). */
function layout(archive: Buffer): { end: number; centrals: number[]; locals: number[] } {
  const end = archive.length - 22;
  const centrals: number[] = [];
  const locals: number[] = [];
  let at = archive.readUInt32LE(end + END.directoryOffset);
  for (let i = 0; i < archive.readUInt16LE(end + END.count); i++) {
    centrals.push(at);
    locals.push(archive.readUInt32LE(at + CENTRAL.offset));
    at += 46 + archive.readUInt16LE(at + CENTRAL.nameLength) + archive.readUInt16LE(at + CENTRAL.extraLength);
  }
  return { end, centrals, locals };
}

/** A copy of `archive` changed by `patch`, which gets the offsets of the first entry's records and of the end record. */
function patched(archive: Buffer, patch: (b: Buffer, at: { local: number; central: number; end: number; centrals: number[]; locals: number[] }) => void): Buffer {
  const copy = Buffer.from(archive);
  const where = layout(copy);
  patch(copy, { ...where, local: where.locals[0] ?? -1, central: where.centrals[0] ?? -1 });
  return copy;
}

/** `archive` with `bytes` inserted at `at`. */
const spliced = (archive: Buffer, at: number, bytes: Buffer): Buffer => Buffer.concat([archive.subarray(0, at), bytes, archive.subarray(at)]);

const zlibCrc = (data: Buffer): number => zlibCrc32(data) >>> 0;

describe('zip reader: archives read back', () => {
  it('reads a stored and a deflated entry back byte-exact, with directories, modes and an empty file', async () => {
    const binary = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7919) % 251));
    const entries = [
      { name: 'lib/' },
      { name: 'lib/data.bin', data: binary },
      { name: 'bin/run.sh', data: '#!/bin/sh\necho hi\n', mode: 0o755 },
      { name: 'empty.txt', data: '' },
    ];
    for (const method of ['store', 'deflate'] as const) {
      const archive = zip(entries, { method });
      const back = await read(archive);
      expect(back.map((e) => [e.name, e.directory, e.mode])).toEqual([
        ['lib/', true, 0o040755],
        ['lib/data.bin', false, 0o100644],
        ['bin/run.sh', false, 0o100755],
        ['empty.txt', false, 0o100644],
      ]);
      expect(back[1]?.data.equals(binary)).toBe(true);
      expect(back[2]?.data.toString()).toBe('#!/bin/sh\necho hi\n');
      expect(back[3]?.data.length).toBe(0);
      expect(back[0]?.data.length).toBe(0);
    }
    // The deflated archive really was deflated (else this would test the stored path twice).
    const deflated = zip(entries);
    expect(deflated.readUInt16LE(layout(deflated).centrals[1]! + CENTRAL.method)).toBe(8);
    expect(deflated.length).toBeLessThan(binary.length);
  });

  it('decodes a name flagged UTF-8 (bit 11) as UTF-8', async () => {
    const [entry] = await read(zip({ 'snö/☃ 日本.txt': 'x' }));
    expect(entry?.name).toBe('snö/☃ 日本.txt');
  });

  it('refuses a name flagged UTF-8 that is not valid UTF-8', async () => {
    const archive = patched(zip({ 'ab.txt': 'x' }), (b, at) => {
      b[at.local + LOCAL.name] = 0xc3;
      b[at.central + CENTRAL.name] = 0xc3; // a lead byte followed by ASCII
    });
    expect((await refusal(archive)).message).toMatch(/not valid UTF-8/);
  });

  it('decodes a name without the UTF-8 flag as code page 437, byte for byte as Python does', async () => {
    const placeholder = 'x'.repeat(128);
    const archive = patched(zip({ [placeholder]: 'x' }), (b, at) => {
      for (const base of [at.local + LOCAL.name, at.central + CENTRAL.name]) for (let i = 0; i < 128; i++) b[base + i] = 0x80 + i;
      b.writeUInt16LE(0, at.local + LOCAL.flags);
      b.writeUInt16LE(0, at.central + CENTRAL.flags);
    });
    const python = execFileSync('python3', ['-c', 'import sys; sys.stdout.write(bytes(range(128, 256)).decode("cp437"))'], { encoding: 'utf8', env: { ...process.env, PYTHONIOENCODING: 'utf-8' } });
    const [entry] = await read(archive);
    expect(entry?.name).toBe(python);
    expect(entry?.name.startsWith('ÇüéâäàåçêëèïîìÄÅ')).toBe(true);
  });

  it("uses Info-ZIP's Unicode Path extra field for a legacy name while its CRC matches that name, else the name", async () => {
    const legacy = Buffer.from('cafe.txt');
    const withField = (nameCrc: number): Buffer => {
      const utf8 = Buffer.from('café.txt');
      const field = Buffer.alloc(4 + 5 + utf8.length);
      field.writeUInt16LE(0x7075, 0);
      field.writeUInt16LE(5 + utf8.length, 2);
      field[4] = 1; // version
      field.writeUInt32LE(nameCrc, 5);
      utf8.copy(field, 9);
      const plain = patched(zip({ 'cafe.txt': 'x' }), (b, at) => {
        b.writeUInt16LE(0, at.local + LOCAL.flags);
        b.writeUInt16LE(0, at.central + CENTRAL.flags);
        b.writeUInt16LE(field.length, at.central + CENTRAL.extraLength);
      });
      const at = layout(zip({ 'cafe.txt': 'x' }));
      const archive = spliced(plain, at.centrals[0]! + CENTRAL.name + legacy.length, field);
      const end = archive.length - 22;
      archive.writeUInt32LE(archive.readUInt32LE(end + END.directorySize) + field.length, end + END.directorySize);
      return archive;
    };
    expect((await read(withField(zlibCrc(legacy))))[0]?.name).toBe('café.txt');
    expect((await read(withField(zlibCrc(legacy) ^ 1)))[0]?.name).toBe('cafe.txt');
  });

  it('gives the Unix mode only for archives made on Unix; a non-Unix "symlink" mode is no symlink', async () => {
    const unix = zip([{ name: 'run.sh', data: 'x', mode: 0o750 }]);
    expect((await read(unix))[0]?.mode).toBe(0o100750);
    const msdos = patched(zip([{ name: 'link', data: 'x', mode: 0o120777 }]), (b, at) => b.writeUInt16LE(20, at.central + CENTRAL.madeBy));
    expect((await read(msdos))[0]?.mode).toBeUndefined();
  });

  it('reads a comment after the end record, even one holding the end record signature', async () => {
    const base = zip({ 'index.js': 'x' });
    const comment = Buffer.concat([Buffer.from('made by hand PK'), Buffer.from([0x05, 0x06]), Buffer.alloc(30, 0x41)]);
    const archive = Buffer.concat([base, comment]);
    archive.writeUInt16LE(comment.length, base.length - 22 + END.commentLength);
    expect((await read(archive)).map((e) => e.name)).toEqual(['index.js']);
    // A comment length that does not reach the end exactly (past it, or short of it: bytes after the archive) is not
    // an end record.
    for (const length of [comment.length + 1, comment.length - 1]) {
      archive.writeUInt16LE(length, base.length - 22 + END.commentLength);
      expect((await refusal(archive)).message).toMatch(/no end of central directory record/);
    }
  });

  it('accepts a local header whose extra field differs in length from the central one', async () => {
    const base = zip({ 'index.js': 'exports.main = () => ({});' });
    const padding = Buffer.from([0xfe, 0xca, 4, 0, 1, 2, 3, 4]); // one extra field, id 0xcafe, 4 bytes
    const archive = spliced(base, LOCAL.name + 'index.js'.length, padding);
    archive.writeUInt16LE(padding.length, LOCAL.extraLength);
    const end = archive.length - 22;
    archive.writeUInt32LE(archive.readUInt32LE(end + END.directoryOffset) + padding.length, end + END.directoryOffset);
    const [entry] = await read(archive);
    expect(entry?.data.toString()).toBe('exports.main = () => ({});');
  });

  it('yields nothing for an empty archive (an end record alone)', async () => {
    const empty = zip([]);
    expect(empty.length).toBe(22);
    expect(await read(empty)).toEqual([]);
  });

  it('yields entries lazily: the first entry comes before a later entry is inflated', async () => {
    // The second entry's data is corrupt (flipped deflate bits): only reaching it fails.
    const archive = patched(zip({ 'a.txt': 'first', 'b.txt': 'second '.repeat(100) }), (b, at) => {
      const dataAt = at.locals[1]! + LOCAL.name + 'b.txt'.length;
      b[dataAt] = (b[dataAt] ?? 0) ^ 0xff;
    });
    const entries = readZip(archive, ROOMY);
    const first = await entries.next();
    expect(first.value).toMatchObject({ name: 'a.txt' });
    await expect(entries.next()).rejects.toThrow(InvalidZipError);
  });
});

describe('zip reader: hostile archives are refused', () => {
  const sample = zip({ 'index.js': 'exports.main = () => ({ ok: true });', 'lib/util.js': 'module.exports = 1;\n'.repeat(20) });

  it('refuses every truncation of an archive', async () => {
    for (let length = 0; length < sample.length; length++) {
      expect((await refusal(sample.subarray(0, length))).message, `length ${length}`).toMatch(/no end of central directory record/);
    }
  });

  it('refuses the archive with any one byte removed (the records no longer meet where the end record says)', async () => {
    for (let at = 0; at < sample.length; at++) {
      expect((await refusal(Buffer.concat([sample.subarray(0, at), sample.subarray(at + 1)]))).message, `byte ${at}`).toMatch(
        /no end of central directory record|the central directory does not end where the end record begins/,
      );
    }
  });

  it('never fails with anything but InvalidZipError, whatever one byte is changed to (every read within bounds)', async () => {
    // A RangeError from a Buffer read would mean a missing bounds check. Accepted mutations are fields nothing
    // depends on (times, versions, internal attributes) or data that still matches (the CRC is checked).
    let refused = 0;
    for (let at = 0; at < sample.length; at++) {
      for (const value of [0x00, 0xff, (sample[at] ?? 0) ^ 0x01, (sample[at] ?? 0) ^ 0x80]) {
        const mutated = Buffer.from(sample);
        mutated[at] = value;
        try {
          await read(mutated);
        } catch (error) {
          expect(error, `byte ${at} = ${value}`).toBeInstanceOf(InvalidZipError);
          refused++;
        }
      }
    }
    expect(refused).toBeGreaterThan(sample.length);
  });

  it('refuses an archive without an end of central directory record', async () => {
    const archive = patched(sample, (b, at) => b.writeUInt32LE(0x06054b51, at.end));
    expect((await refusal(archive)).message).toMatch(/no end of central directory record/);
  });

  it('refuses a central directory offset or size past the end, or one that does not meet the end record', async () => {
    const past = patched(sample, (b, at) => b.writeUInt32LE(b.length + 100, at.end + END.directoryOffset));
    expect((await refusal(past)).message).toMatch(/central directory does not end where the end record begins/);
    const huge = patched(sample, (b, at) => {
      b.writeUInt32LE(b.length * 4, at.end + END.directorySize);
      b.writeUInt32LE(at.end - b.length * 4 + 2 ** 32, at.end + END.directoryOffset);
    });
    expect((await refusal(huge)).message).toMatch(/central directory does not end where the end record begins/);
    const early = patched(sample, (b, at) => {
      b.writeUInt32LE(b.readUInt32LE(at.end + END.directoryOffset) - 4, at.end + END.directoryOffset);
      b.writeUInt32LE(b.readUInt32LE(at.end + END.directorySize) + 4, at.end + END.directorySize);
    });
    expect((await refusal(early)).message).toMatch(/no central directory header for entry 0/);
  });

  it('refuses an entry count that the central directory does not hold', async () => {
    const more = patched(sample, (b, at) => {
      b.writeUInt16LE(3, at.end + END.count);
      b.writeUInt16LE(3, at.end + END.countHere);
    });
    expect((await refusal(more)).message).toMatch(/central directory ends inside entry 2/);
    const fewer = patched(sample, (b, at) => {
      b.writeUInt16LE(1, at.end + END.count);
      b.writeUInt16LE(1, at.end + END.countHere);
    });
    expect((await refusal(fewer)).message).toMatch(/holds more than its 1 entries/);
  });

  it('refuses a local header offset outside the data area, or one that is no local header', async () => {
    const outside = patched(sample, (b, at) => b.writeUInt32LE(at.end - 10, at.central + CENTRAL.offset));
    expect((await refusal(outside)).message).toMatch(/local header of index.js lies outside the data area/);
    const inData = patched(sample, (b, at) => b.writeUInt32LE(at.locals[1]! + 10, at.centrals[1]! + CENTRAL.offset));
    expect((await refusal(inData)).message).toMatch(/no local header for lib\/util.js/);
  });

  it('refuses a local header that lies about sizes or CRC, or names another entry', async () => {
    const size = patched(sample, (b, at) => b.writeUInt32LE(b.readUInt32LE(at.local + LOCAL.size) + 1, at.local + LOCAL.size));
    expect((await refusal(size)).message).toMatch(/local header of index.js disagrees with the central directory/);
    const compressed = patched(sample, (b, at) => b.writeUInt32LE(1, at.local + LOCAL.compressedSize));
    expect((await refusal(compressed)).message).toMatch(/local header of index.js disagrees with the central directory/);
    const crc = patched(sample, (b, at) => b.writeUInt32LE(b.readUInt32LE(at.local + LOCAL.crc) ^ 1, at.local + LOCAL.crc));
    expect((await refusal(crc)).message).toMatch(/local header of index.js disagrees with the central directory/);
    const name = patched(sample, (b, at) => (b[at.local + LOCAL.name] = 0x4a)); // 'J'ndex.js
    expect((await refusal(name)).message).toMatch(/local header names another entry than index.js/);
    const method = patched(sample, (b, at) => b.writeUInt16LE(0, at.local + LOCAL.method));
    expect((await refusal(method)).message).toMatch(/another compression method/);
  });

  it('refuses data that runs past the data area (compressed size larger than what is there)', async () => {
    const archive = patched(sample, (b, at) => {
      const last = at.centrals[1]!;
      b.writeUInt32LE(b.readUInt32LE(last + CENTRAL.compressedSize) + 50, last + CENTRAL.compressedSize);
      b.writeUInt32LE(b.readUInt32LE(at.locals[1]! + LOCAL.compressedSize) + 50, at.locals[1]! + LOCAL.compressedSize);
    });
    expect((await refusal(archive)).message).toMatch(/data of lib\/util.js runs past the data area/);
  });

  it('refuses entries whose bytes overlap (a second entry hidden inside the first one\'s data)', async () => {
    // What the local header of a stored `b` holding `hi` looks like, placed as the data of a stored `a`.
    const inner = zip([{ name: 'b', data: 'hi' }], { method: 'store' }).subarray(0, 30 + 1 + 2);
    const outer = zip([{ name: 'a', data: inner }, { name: 'b', data: 'hi' }], { method: 'store' });
    const archive = patched(outer, (b, at) => b.writeUInt32LE(30 + 1, at.centrals[1]! + CENTRAL.offset));
    expect((await refusal(archive)).message).toMatch(/entries overlap: a and b/);
    expect((await read(outer)).map((e) => e.name)).toEqual(['a', 'b']); // unpatched, the same bytes are fine
  });

  it('refuses a CRC-32 mismatch, in the headers or in the data', async () => {
    const headers = patched(sample, (b, at) => {
      b.writeUInt32LE(b.readUInt32LE(at.local + LOCAL.crc) ^ 0x10, at.local + LOCAL.crc);
      b.writeUInt32LE(b.readUInt32LE(at.central + CENTRAL.crc) ^ 0x10, at.central + CENTRAL.crc);
    });
    expect((await refusal(headers)).message).toMatch(/CRC-32 mismatch in index.js/);
    const stored = zip({ 'index.js': 'exports.main = () => ({});' }, { method: 'store' });
    const flipped = patched(stored, (b) => (b[LOCAL.name + 'index.js'.length + 3] = 0x21));
    expect((await refusal(flipped)).message).toMatch(/CRC-32 mismatch in index.js/);
  });

  it('refuses an entry that inflates past its declared size, without inflating more than that (a bomb)', async () => {
    const bomb = Buffer.alloc(16 * 1024 * 1024); // 16 MiB of zeros deflate to ~16 KB
    const archive = patched(zip({ 'bomb.bin': bomb }), (b, at) => {
      b.writeUInt32LE(1000, at.local + LOCAL.size);
      b.writeUInt32LE(1000, at.central + CENTRAL.size);
    });
    expect(archive.length).toBeLessThan(100_000);
    const error = await refusal(archive);
    expect(error.message).toBe('bomb.bin inflates past its declared 1000 bytes');
    // zlib stopped at maxOutputLength: its own "buffer too large" error, not a size comparison afterwards.
    expect((error.cause as NodeJS.ErrnoException).code).toBe('ERR_BUFFER_TOO_LARGE');
  });

  it('refuses an entry that inflates to less than its declared size', async () => {
    const archive = patched(zip({ 'short.txt': 'x'.repeat(100) }), (b, at) => {
      b.writeUInt32LE(200, at.local + LOCAL.size);
      b.writeUInt32LE(200, at.central + CENTRAL.size);
    });
    expect((await refusal(archive)).message).toBe('short.txt holds 100 bytes, not its declared 200');
  });

  it('refuses deflate data that is corrupt or truncated', async () => {
    const archive = patched(zip({ 'a.txt': 'hello '.repeat(50) }), (b, at) => {
      const dataAt = at.local + LOCAL.name + 'a.txt'.length;
      b.fill(0xff, dataAt, dataAt + 4);
    });
    const error = await refusal(archive);
    expect(error.message).toBe('a.txt does not inflate');
    expect(error.cause).toBeInstanceOf(Error);
  });

  it('refuses the whole archive when its entries together declare more than maxTotalSize, before inflating any', async () => {
    const archive = zip({ 'a.bin': Buffer.alloc(1000), 'b.bin': Buffer.alloc(1000), 'c.bin': Buffer.alloc(1000) });
    expect((await read(archive, { maxTotalSize: 3000 })).length).toBe(3);
    const entries = readZip(archive, { maxTotalSize: 2999 });
    // Refused on the first next(): not one entry was handed out.
    await expect(entries.next()).rejects.toThrow('the entries unpack to more than 2999 bytes');
  });

  it('refuses compression methods other than stored and deflated', async () => {
    for (const method of [1, 9, 12, 14, 93, 99]) {
      const archive = patched(sample, (b, at) => {
        b.writeUInt16LE(method, at.local + LOCAL.method);
        b.writeUInt16LE(method, at.central + CENTRAL.method);
      });
      expect((await refusal(archive)).message).toBe(`compression method ${method} is not supported: index.js`);
    }
  });

  it('refuses a stored entry whose compressed and uncompressed sizes differ', async () => {
    const archive = patched(zip({ 'a.txt': 'abcdef' }, { method: 'store' }), (b, at) => {
      b.writeUInt32LE(3, at.local + LOCAL.size);
      b.writeUInt32LE(3, at.central + CENTRAL.size);
    });
    expect((await refusal(archive)).message).toMatch(/stored entry whose compressed and uncompressed sizes differ: a.txt/);
  });

  it('refuses encrypted entries (flag bit 0, strong encryption bit 6, masked headers bit 13)', async () => {
    for (const bit of [0x0001, 0x0040, 0x2000]) {
      const archive = patched(sample, (b, at) => {
        b.writeUInt16LE(b.readUInt16LE(at.local + LOCAL.flags) | bit, at.local + LOCAL.flags);
        b.writeUInt16LE(b.readUInt16LE(at.central + CENTRAL.flags) | bit, at.central + CENTRAL.flags);
      });
      expect((await refusal(archive)).message).toBe('encrypted entries are not supported: index.js');
    }
    // Only the local header says encrypted: the two disagree.
    const local = patched(sample, (b, at) => b.writeUInt16LE(b.readUInt16LE(at.local + LOCAL.flags) | 1, at.local + LOCAL.flags));
    expect((await refusal(local)).message).toMatch(/local header of index.js disagrees on encryption/);
  });

  it('refuses archives split over several disks', async () => {
    for (const field of [END.disk, END.directoryDisk, END.countHere]) {
      const archive = patched(sample, (b, at) => b.writeUInt16LE(1, at.end + field));
      expect((await refusal(archive)).message).toBe('archives split over several disks are not supported');
    }
    const entryDisk = patched(sample, (b, at) => b.writeUInt16LE(1, at.central + CENTRAL.disk));
    expect((await refusal(entryDisk)).message).toBe('archives split over several disks are not supported: index.js');
  });

  it('refuses ZIP64: a locator before the end record, or 16/32-bit fields at their ZIP64 marker value', async () => {
    const at = layout(sample);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(0x07064b50, 0);
    expect((await refusal(spliced(sample, at.end, locator))).message).toBe('ZIP64 archives are not supported');
    for (const [field, bits] of [[END.count, 16], [END.countHere, 16], [END.disk, 16], [END.directorySize, 32], [END.directoryOffset, 32]] as const) {
      const archive = patched(sample, (b, where) => (bits === 16 ? b.writeUInt16LE(0xffff, where.end + field) : b.writeUInt32LE(0xffffffff, where.end + field)));
      expect((await refusal(archive)).message, `end record field at ${field}`).toBe('ZIP64 archives are not supported');
    }
    for (const field of [CENTRAL.size, CENTRAL.compressedSize, CENTRAL.offset]) {
      const archive = patched(sample, (b, where) => b.writeUInt32LE(0xffffffff, where.central + field));
      expect((await refusal(archive)).message, `central field at ${field}`).toBe('ZIP64 entries are not supported: index.js');
    }
  });

  it('refuses names that climb out, are absolute, hold a backslash or NUL, or are empty', async () => {
    const cases: [string, RegExp][] = [
      ['../evil.js', /climbs out with "\.\.": \.\.\/evil\.js/],
      ['..', /climbs out/],
      ['lib/../../evil.js', /climbs out/],
      ['lib/..', /climbs out/],
      ['/abs/evil.js', /absolute entry name: \/abs\/evil\.js/],
      ['/', /absolute entry name/],
      ['C:/evil.js', /absolute entry name: C:\/evil\.js/],
      ['c:evil.js', /absolute entry name/],
      ['a\\..\\..\\x', /backslash: a\\\.\.\\\.\.\\x/],
      ['lib\\evil.js', /backslash/],
      ['a\0b.js', /contains NUL/],
      ['', /empty name/],
    ];
    for (const [name, message] of cases) {
      const archive = zip([{ name: 'index.js', data: 'x' }, { name, data: 'evil' }]);
      expect((await refusal(archive)).message, JSON.stringify(name)).toMatch(message);
    }
    // Dots that do not make a `..` segment are ordinary names.
    const fine = await read(zip({ './index.js': 'a', '..hidden': 'b', 'a/...': 'c', 'x..y/z': 'd' }));
    expect(fine.map((e) => e.name)).toEqual(['./index.js', '..hidden', 'a/...', 'x..y/z']);
  });

  it('takes linear time over a name of 65,000 slashes (no regular expression backtracking on names)', async () => {
    const name = `a${'/'.repeat(65_000)}b`;
    const archive = zip({ [name]: 'x' });
    const started = Date.now();
    expect((await read(archive))[0]?.name).toBe(name);
    expect(Date.now() - started).toBeLessThan(1000); // a backtracking /\/+$/ takes seconds (2–3 s here)
  });

  it('refuses symbolic links (S_IFLNK in a Unix mode)', async () => {
    const archive = zip([{ name: 'index.js', data: 'x' }, { name: 'link', data: '../../../etc/passwd', mode: 0o120777 }]);
    expect(archive.readUInt32LE(layout(archive).centrals[1]! + CENTRAL.external) >>> 16).toBe(0o120777);
    expect((await refusal(archive)).message).toBe('symbolic links are not supported: link');
  });

  it('refuses duplicate names, a file and a directory of one name included', async () => {
    expect((await refusal(zip([{ name: 'index.js', data: 'a' }, { name: 'index.js', data: 'b' }]))).message).toBe('duplicate entry: index.js');
    expect((await refusal(zip([{ name: 'lib' , data: 'a' }, { name: 'lib/' }]))).message).toBe('duplicate entry: lib/');
  });

  it('refuses a directory entry that carries data', async () => {
    const archive = patched(zip({ 'lib/': 'x' }), (b, at) => {
      // The writer ignores data for directories (stored, sizes 0): declare a byte.
      b.writeUInt32LE(1, at.central + CENTRAL.compressedSize);
      b.writeUInt32LE(1, at.central + CENTRAL.size);
    });
    expect((await refusal(archive)).message).toBe('directory entry with data: lib/');
  });
});

describe('zip reader: archives made by other tools', () => {
  /** A small action tree: nested folders, an executable, an empty file, compressible and incompressible data. */
  function actionTree(): string {
    const root = scratchDir();
    const random = Buffer.from(Array.from({ length: 50_000 }, (_, i) => (i * 2654435761) >>> 24));
    const files: Record<string, string | Buffer> = {
      'package.json': JSON.stringify({ name: 'tree', main: 'index.js' }),
      'index.js': "exports.main = () => require('./lib/util');\n",
      'lib/util.js': 'module.exports = { ok: true };\n'.repeat(500),
      'node_modules/dep/package.json': '{"name":"dep"}',
      'node_modules/dep/index.js': 'module.exports = 42;\n',
      'bin/run.sh': '#!/bin/sh\necho hi\n',
      'empty.txt': '',
      'data/random.bin': random,
      'snö/☃.txt': 'unicode\n',
    };
    for (const [name, data] of Object.entries(files)) {
      mkdirSync(join(root, name, '..'), { recursive: true });
      writeFileSync(join(root, name), data);
    }
    chmodSync(join(root, 'bin/run.sh'), 0o755);
    return root;
  }

  interface Manifest {
    name: string;
    directory: boolean;
    mode: number;
    data: string;
  }

  /** What Python's zipfile reads from the archive at `path`: names, directories, modes and contents. */
  function pythonReads(path: string): Manifest[] {
    const script = `
import base64, json, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    print(json.dumps([{'name': i.filename, 'directory': i.is_dir(), 'mode': i.external_attr >> 16,
                       'data': base64.b64encode(z.read(i)).decode()} for i in z.infolist()]))`;
    return JSON.parse(execFileSync('python3', ['-c', script, path], { encoding: 'utf8' })) as Manifest[];
  }

  async function readerReads(archive: Buffer): Promise<Manifest[]> {
    return (await read(archive)).map((e) => ({ name: e.name, directory: e.directory, mode: e.mode ?? -1, data: e.data.toString('base64') }));
  }

  /** The general purpose flags of every central directory record. */
  function centralFlags(archive: Buffer): number[] {
    return layout(archive).centrals.map((at) => archive.readUInt16LE(at + CENTRAL.flags));
  }

  // Python writes to a file (headers rewritten in place) or, given a pipe, streams with data descriptors (bit 3).
  const PYTHON_WRITER = `
import os, sys, zipfile
root, out = sys.argv[1], sys.argv[2]
target = sys.stdout.buffer if out == '-' else open(out, 'wb')
with zipfile.ZipFile(target, 'w', zipfile.ZIP_DEFLATED) as z:
    for folder, dirs, files in sorted(os.walk(root)):
        dirs.sort()
        for name in sorted(dirs + files):
            path = os.path.join(folder, name)
            arcname = os.path.relpath(path, root)
            z.write(path, arcname, compress_type=zipfile.ZIP_STORED if name == 'random.bin' else None)`;

  it("reads Python zipfile's archive (a seekable file) as Python does: folders, modes, stored and deflated, UTF-8", async () => {
    const root = actionTree();
    const path = join(scratchDir(), 'python.zip');
    execFileSync('python3', ['-c', PYTHON_WRITER, root, path]);
    const archive = readFileSync(path);
    const expected = pythonReads(path);
    expect(expected.map((e) => e.name)).toEqual(expect.arrayContaining(['lib/', 'node_modules/dep/', 'snö/☃.txt', 'data/random.bin', 'empty.txt']));
    expect(expected.find((e) => e.name === 'bin/run.sh')?.mode).toBe(0o100755);
    expect(await readerReads(archive)).toEqual(expected);
    const methods = layout(archive).centrals.map((at) => archive.readUInt16LE(at + CENTRAL.method));
    expect(new Set(methods)).toEqual(new Set([0, 8]));
    expect(centralFlags(archive).some((flags) => (flags & 0x0800) !== 0)).toBe(true); // the UTF-8 name
  });

  it("reads Python zipfile's streamed archive (data descriptors, flag bit 3) as Python does", async () => {
    const root = actionTree();
    const archive = execFileSync('python3', ['-c', PYTHON_WRITER, root, '-'], { maxBuffer: 16 * 1024 * 1024 });
    const path = join(scratchDir(), 'streamed.zip');
    writeFileSync(path, archive);
    expect(centralFlags(archive).filter((flags) => (flags & 0x0008) !== 0).length).toBeGreaterThan(5);
    expect(await readerReads(archive)).toEqual(pythonReads(path));
  });

  /** Info-ZIP's `zip`, what users run to pack an action (`zip -r action.zip .`): CI installs it; never skipped. */
  const requireInfoZip = (): void => {
    if (spawnSync('zip', ['-v']).status !== 0) throw new Error("Info-ZIP's zip is missing: install Debian's zip package");
  };

  it("reads Info-ZIP's archives, file and stream (its local extra fields are longer than the central ones), as Python does", async () => {
    requireInfoZip();
    const root = actionTree();
    const path = join(scratchDir(), 'info-zip.zip');
    execFileSync('zip', ['-q', '-r', path, '.'], { cwd: root });
    const streamed = execFileSync('zip', ['-q', '-r', '-', '.'], { cwd: root, maxBuffer: 16 * 1024 * 1024 });
    const streamedPath = join(scratchDir(), 'info-zip-stream.zip');
    writeFileSync(streamedPath, streamed);
    for (const [archive, file] of [[readFileSync(path), path], [streamed, streamedPath]] as const) {
      const first = layout(archive).centrals[0]!;
      const local = archive.readUInt32LE(first + CENTRAL.offset);
      expect(archive.readUInt16LE(local + LOCAL.extraLength)).not.toBe(archive.readUInt16LE(first + CENTRAL.extraLength));
      const expected = pythonReads(file);
      expect(expected.length).toBeGreaterThan(10);
      expect(await readerReads(archive)).toEqual(expected);
    }
    expect(centralFlags(streamed).some((flags) => (flags & 0x0008) !== 0)).toBe(true);
  });

  it("refuses Info-ZIP's stored symbolic link (zip -y)", async () => {
    requireInfoZip();
    const root = actionTree();
    symlinkSync('../index.js', join(root, 'lib', 'link.js'));
    const path = join(scratchDir(), 'links.zip');
    execFileSync('zip', ['-q', '-r', '-y', path, '.'], { cwd: root });
    expect((await refusal(readFileSync(path))).message).toBe('symbolic links are not supported: lib/link.js');
  });
});

describe('extractArchive with the zip reader', () => {
  async function extractError(archive: Buffer, dir: string): Promise<Error> {
    const error = await extractArchive(archive, dir).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    if (error === undefined) throw new Error('extracted');
    return error;
  }

  it('unpacks files, folders and modes (mode & 0o777, else 0o644)', async () => {
    const dir = scratchDir();
    await extractArchive(
      zip([
        { name: 'index.js', data: 'exports.main = () => ({});' },
        { name: 'lib/' },
        { name: 'lib/deep/util.js', data: 'module.exports = 1;' },
        { name: 'bin/run.sh', data: '#!/bin/sh\n', mode: 0o755 },
        { name: 'zero-mode.txt', data: 'z', mode: 0 },
      ]),
      dir,
    );
    expect(readdirSync(dir, { recursive: true }).map(String).sort()).toEqual(['bin', 'bin/run.sh', 'index.js', 'lib', 'lib/deep', 'lib/deep/util.js', 'zero-mode.txt']);
    expect(readFileSync(join(dir, 'lib/deep/util.js'), 'utf8')).toBe('module.exports = 1;');
    // What the process's umask leaves of a mode, seen on files written here directly.
    const reference = scratchDir();
    writeFileSync(join(reference, '755'), '', { mode: 0o755 });
    writeFileSync(join(reference, '644'), '', { mode: 0o644 });
    const modeOf = (path: string): number => statSync(path).mode & 0o777;
    expect(modeOf(join(dir, 'bin/run.sh'))).toBe(modeOf(join(reference, '755')));
    expect(modeOf(join(dir, 'zero-mode.txt'))).toBe(modeOf(join(reference, '644')));
    expect(modeOf(join(dir, 'bin/run.sh'))).not.toBe(modeOf(join(dir, 'zero-mode.txt')));
  });

  it("refuses a ../ entry with OpenWhisk's zip message, before writing any entry", async () => {
    const base = scratchDir();
    const dir = join(base, 'action');
    mkdirSync(dir);
    const error = await extractError(zip([{ name: 'index.js', data: 'x' }, { name: '../evil.js', data: 'evil' }]), dir);
    expect(error.message).toBe(ARCHIVE_MESSAGES.zip);
    expect(error.cause).toBeInstanceOf(InvalidZipError);
    expect(readdirSync(dir)).toEqual([]);
    expect(existsSync(join(base, 'evil.js'))).toBe(false);
  });

  it(`refuses a zip whose entries declare more than MAX_UNPACKED_ZIP_BYTES (${MAX_UNPACKED_ZIP_BYTES}) in all`, async () => {
    expect(MAX_UNPACKED_ZIP_BYTES).toBe(1024 * 1024 * 1024);
    const declare = (size: number): Buffer =>
      patched(zip({ 'index.js': 'x', 'big.bin': deflateRawSync(Buffer.alloc(0)) }), (b, at) => {
        b.writeUInt32LE(size, at.locals[1]! + LOCAL.size);
        b.writeUInt32LE(size, at.centrals[1]! + CENTRAL.size);
      });
    const dir = scratchDir();
    const over = await extractError(declare(MAX_UNPACKED_ZIP_BYTES), dir);
    expect(over.message).toBe(ARCHIVE_MESSAGES.zip);
    expect((over.cause as Error).message).toBe(`the entries unpack to more than ${MAX_UNPACKED_ZIP_BYTES} bytes`);
    expect(readdirSync(dir)).toEqual([]);
    // One byte less (with index.js's one byte, exactly the bound) passes the bound and fails later, on the data.
    const at = await extractError(declare(MAX_UNPACKED_ZIP_BYTES - 1), scratchDir());
    expect((at.cause as Error).message).toMatch(/big\.bin (holds|does not inflate)/);
  });

  it('refuses two names for one path (a/./b and a/b): the second would overwrite the first', async () => {
    const error = await extractError(zip({ 'a/./b.js': 'first', 'a/b.js': 'second' }), scratchDir());
    expect(error.message).toBe(ARCHIVE_MESSAGES.zip);
    expect((error.cause as NodeJS.ErrnoException).code).toBe('EEXIST');
  });
});
