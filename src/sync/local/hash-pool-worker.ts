/**
 * The file thread (a classic script: `eval` workers cannot import). Each job of a batch is one of:
 * - ['hash', file, expectedSize, algorithm]: exactly what hasher.ts hashPath() does for a file
 *   that fits its first reads: open without following links and without blocking, read until end
 *   of file (a short read at or past the expected size ends it), fstat, compare sizes, close.
 *   ['hashed', digest, bytesRead] | ['vanished'] | ['open-failed', code, message] | ['problem', text].
 * - ['stat-hash', file, algorithm, limit, copy?]: the same for a file the scan did not lstat: the
 *   descriptor's fstat stands in for it (a file newly seen, typed by its directory listing).
 *   ['hashed', digest, bytesRead, ino, size, mtimeNs, mode] (that fstat) | ['vanished'] |
 *   ['problem', text] | ['unsuitable'] (not a regular file, `limit` bytes or more, or the open
 *   failed: the scan lstats it and decides as usual). With copy = [target, mode, copyLimit], a
 *   suitable file of at most copyLimit bytes is also written, as it is read, to `target`
 *   (created exclusively with `mode`): its stat is appended to 'hashed' (ino, size, mtimeNs,
 *   mode). Whatever goes wrong with the copy leaves nothing at `target` and the hash unchanged.
 * - ['link', existing, target]: link(2). ['linked'] | ['link-failed', code, message].
 * - ['remove-tree', root]: removes a directory whose entries are files or directories of files
 *   (a staging root and its shards), anything deeper recursively. ['removed'] | ['remove-failed', message].
 * - ['copy', source, target, mode, algorithm, limit]: the same open of `source`, which must be a
 *   regular file of at most `limit` bytes; `target` is created exclusively with `mode` and gets
 *   every byte read, hashed on the way. ['copied', digest, ino, size, mtimeNs, mode] (the target's
 *   stat) | ['skipped', reason]: nothing is left at `target` then.
 */
export const WORKER_SOURCE = `
'use strict';
const fs = require('node:fs');
const crypto = require('node:crypto');
const { parentPort } = require('node:worker_threads');
const FLAGS = fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | (fs.constants.O_NONBLOCK || 0);
const buffer = Buffer.allocUnsafe(256 * 1024);
// Reads fd to its end, hashing every byte; a short read at or past \`expected\` is the end (of a
// regular file, at that moment). Each chunk (in \`buffer\`) also goes to \`each\` with its offset
// before the next read. Returns the byte count; read errors and those of \`each\` propagate.
function pump(fd, hash, expected, each) {
  let total = 0;
  for (;;) {
    const count = fs.readSync(fd, buffer, 0, buffer.length, null);
    if (count > 0) {
      if (each !== undefined) each(count, total);
      hash.update(buffer.subarray(0, count));
    }
    total += count;
    if (count === 0 || (count < buffer.length && total >= expected)) return total;
  }
}
// Writes the \`count\` bytes of \`buffer\` at \`offset\` of fd.
function writeAll(fd, count, offset) {
  for (let written = 0; written < count;) {
    const bytes = fs.writeSync(fd, buffer, written, count - written, offset + written);
    if (bytes === 0) throw new Error('short write');
    written += bytes;
  }
}
// A copy made on the way by hashOne(): created at once, dropped (file removed) on any failure.
function sideCopy(target, mode) {
  let fd = -1;
  try {
    fd = fs.openSync(target, 'wx', mode);
  } catch {
    return undefined;
  }
  const drop = () => {
    if (fd < 0) return;
    try { fs.closeSync(fd); } catch {}
    try { fs.rmSync(target, { force: true }); } catch {}
    fd = -1;
  };
  return {
    write(count, offset) {
      if (fd < 0) return;
      try { writeAll(fd, count, offset); } catch { drop(); }
    },
    finish() {
      if (fd < 0) return undefined;
      try {
        const stat = fs.fstatSync(fd, { bigint: true });
        fs.closeSync(fd);
        fd = -1;
        return [stat.ino, stat.size, stat.mtimeNs, stat.mode];
      } catch {
        drop();
        return undefined;
      }
    },
    drop,
  };
}
function hashOne(file, expected, algorithm, limit, copy) {
  let fd;
  try {
    fd = fs.openSync(file, FLAGS);
  } catch (error) {
    if (error.code === 'ENOENT') return ['vanished'];
    return limit === undefined ? ['open-failed', String(error.code || ''), String(error.message)] : ['unsuitable'];
  }
  try {
    let stat;
    if (limit !== undefined) {
      try {
        stat = fs.fstatSync(fd, { bigint: true });
      } catch (error) {
        return ['problem', 'unable to hash file contents: ' + error.message];
      }
      if (!stat.isFile() || stat.size >= BigInt(limit)) return ['unsuitable'];
      expected = Number(stat.size);
    }
    const side = copy !== undefined && stat !== undefined && stat.size <= BigInt(copy[2]) ? sideCopy(copy[0], copy[1]) : undefined;
    try {
      const hash = crypto.createHash(algorithm);
      let total;
      try {
        total = pump(fd, hash, expected, side === undefined ? undefined : (count, offset) => side.write(count, offset));
      } catch (error) {
        return ['problem', 'unable to hash file contents: ' + error.message];
      }
      let size;
      try {
        size = fs.fstatSync(fd).size;
      } catch (error) {
        return ['problem', 'unable to hash file contents: ' + error.message];
      }
      if (total !== size) return ['problem', 'hashed size mismatch: ' + total + ' != ' + size];
      if (total !== expected) return ['problem', 'hashed size mismatch: ' + total + ' != ' + expected];
      if (stat === undefined) return ['hashed', hash.digest(), total];
      const result = ['hashed', hash.digest(), total, stat.ino, stat.size, stat.mtimeNs, stat.mode];
      const copied = side === undefined ? undefined : side.finish();
      return copied === undefined ? result : result.concat(copied);
    } finally {
      if (side !== undefined) side.drop();
    }
  } finally {
    fs.closeSync(fd);
  }
}
function copyOne(source, target, mode, algorithm, limit) {
  let input;
  try {
    input = fs.openSync(source, FLAGS);
  } catch (error) {
    return ['skipped', 'unable to open file: ' + error.message];
  }
  let output = -1;
  let created = false;
  try {
    const stat = fs.fstatSync(input);
    if (!stat.isFile()) return ['skipped', 'not a regular file'];
    if (stat.size > limit) return ['skipped', 'too large'];
    output = fs.openSync(target, 'wx', mode);
    created = true;
    const hash = crypto.createHash(algorithm);
    pump(input, hash, stat.size, (count, offset) => {
      if (offset + count > limit) throw new Error('too large');
      writeAll(output, count, offset);
    });
    const written = fs.fstatSync(output, { bigint: true });
    const closing = output;
    output = -1;
    fs.closeSync(closing);
    created = false;
    return ['copied', hash.digest(), written.ino, written.size, written.mtimeNs, written.mode];
  } catch (error) {
    return ['skipped', error instanceof Error ? error.message : String(error)];
  } finally {
    fs.closeSync(input);
    if (output >= 0) { try { fs.closeSync(output); } catch {} }
    if (created) { try { fs.rmSync(target, { force: true }); } catch {} }
  }
}
function linkOne(existing, target) {
  try {
    fs.linkSync(existing, target);
    return ['linked'];
  } catch (error) {
    return ['link-failed', String(error.code || ''), String(error.message)];
  }
}
function removeTree(root) {
  let names;
  try {
    names = fs.readdirSync(root, { withFileTypes: true });
  } catch (error) {
    return error.code === 'ENOENT' ? ['removed'] : ['remove-failed', String(error.message)];
  }
  try {
    for (const entry of names) {
      const at = root + '/' + entry.name;
      if (!entry.isDirectory()) {
        fs.unlinkSync(at);
        continue;
      }
      for (const name of fs.readdirSync(at)) {
        try {
          fs.unlinkSync(at + '/' + name);
        } catch (error) {
          if (error.code !== 'EISDIR' && error.code !== 'EPERM') throw error;
          fs.rmSync(at + '/' + name, { recursive: true, force: true });
        }
      }
      fs.rmdirSync(at);
    }
    fs.rmdirSync(root);
    return ['removed'];
  } catch (error) {
    return ['remove-failed', String(error.message)];
  }
}
function run(job) {
  try {
    switch (job[0]) {
      case 'copy': return copyOne(job[1], job[2], job[3], job[4], job[5]);
      case 'link': return linkOne(job[1], job[2]);
      case 'remove-tree': return removeTree(job[1]);
      case 'stat-hash': return hashOne(job[1], -1, job[2], job[3], job[4]);
      default: return hashOne(job[1], job[2], job[3]);
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (job[0] === 'link') return ['link-failed', '', message];
    if (job[0] === 'remove-tree') return ['remove-failed', message];
    return job[0] === 'copy' ? ['skipped', message] : ['problem', 'unable to hash file contents: ' + message];
  }
}
// The digests of a batch travel packed in one transferred buffer (one ArrayBuffer per batch, not
// one per file, for the collector to track): a result's digest slot holds its offset there.
parentPort.on('message', ({ id, jobs }) => {
  const results = jobs.map(run);
  let size = 0;
  for (const result of results) if (result[0] === 'hashed' || result[0] === 'copied') size += result[1].length;
  const digests = new Uint8Array(size);
  let offset = 0;
  for (const result of results) {
    if (result[0] !== 'hashed' && result[0] !== 'copied') continue;
    digests.set(result[1], offset);
    const length = result[1].length;
    result[1] = offset;
    offset += length;
  }
  parentPort.postMessage({ id, results, digests }, [digests.buffer]);
});
`;
