/**
 * The remote side of the probe (probe.ts parses what these print). Both print `key=value` lines
 * between `mutagen-probe=1` and `end=1`; values never contain a newline. Inputs arrive as
 * positional arguments, never spliced into the text.
 */

/** Where Node.js is commonly installed when a non-login shell's PATH does not find it. */
export const WELL_KNOWN_NODE_PATHS = ['/usr/local/bin/node', '/usr/bin/node', '/opt/homebrew/bin/node'] as const;

/**
 * Oldest Node.js the agent bundle runs on. The bundle's syntax targets Node 18 (scripts/build.ts);
 * newer APIs are feature-tested (crypto.hash in sync/rsync/signature.ts, AbortSignal.any in
 * base/abort.ts). `statfs` (sync/local/probe.ts) and `isUtf8` keep the floor at 18.15.
 */
export const MINIMUM_NODE = { major: 18, minor: 15 } as const;

/** "20.12", for messages. */
export const MINIMUM_NODE_TEXT = `${MINIMUM_NODE.major}.${MINIMUM_NODE.minor}`;

/**
 * POSIX sh, one round trip: `sh -c SCRIPT sh <version> <configured node path or ''>`.
 * Uses only sh builtins plus uname, ldd and mkdir (minimal containers lack grep and head).
 * Stops at the first Node.js that runs and is new enough.
 */
export const PROBE_SHELL_SCRIPT = `
v=$1; configured=$2
printf 'mutagen-probe=1\\n'
printf 'os=%s\\n' "$(uname -s 2>/dev/null)"
printf 'arch=%s\\n' "$(uname -m 2>/dev/null)"
libc=unknown
out=$(ldd --version 2>&1)
case $out in *musl*) libc=musl ;; *GLIBC*|*"GNU libc"*|*glibc*|*"GNU C Library"*) libc=glibc ;; esac
if [ "$libc" = unknown ]; then for f in /lib/ld-musl-*; do [ -e "$f" ] && libc=musl; done; fi
if [ "$libc" = unknown ]; then for f in /lib64/ld-linux-*.so.* /lib/ld-linux-*.so.*; do [ -e "$f" ] && libc=glibc; done; fi
printf 'libc=%s\\n' "$libc"
printf 'home=%s\\n' "$HOME"
if [ -n "\${MUTAGEN_DATA_DIRECTORY+set}" ]; then d=$MUTAGEN_DATA_DIRECTORY; else d=$HOME/.mutagen-ts; fi
printf 'data=%s\\n' "$d"
case $d in /*) if (umask 077; mkdir -p "$d/agents") 2>/dev/null && [ -w "$d/agents" ]; then printf 'writable=1\\n'; fi ;; esac
[ -f "$d/agents/$v/agent.mjs" ] && printf 'agent=1\\n'
command -v gzip >/dev/null 2>&1 && printf 'gzip=1\\n'
command -v xz >/dev/null 2>&1 && printf 'xz=1\\n'
seen='
'
probe_node() {
  [ -n "$1" ] || return 1
  case $seen in *"
$1
"*) return 1 ;; esac
  seen="$seen$1
"
  { [ -f "$1" ] && [ -x "$1" ]; } || return 1
  nv=$("$1" -e 'process.stdout.write(process.versions.node)' 2>/dev/null) || nv='?'
  case $nv in ''|*[!0-9.]*) nv='?' ;; esac
  printf 'node=%s %s\\n' "$nv" "$1"
  m=\${nv%%.*}; r=\${nv#*.}; n=\${r%%.*}
  case $m in ''|*[!0-9]*) return 1 ;; esac
  case $n in ''|*[!0-9]*) return 1 ;; esac
  [ "$m" -gt ${MINIMUM_NODE.major} ] || { [ "$m" -eq ${MINIMUM_NODE.major} ] && [ "$n" -ge ${MINIMUM_NODE.minor} ]; }
}
found() { printf 'end=1\\n'; exit 0; }
probe_node "$configured" && found
probe_node "$(command -v node 2>/dev/null)" && found
for p in ${WELL_KNOWN_NODE_PATHS.join(' ')} "$HOME/.volta/bin/node" "$HOME/.local/bin/node"; do probe_node "$p" && found; done
best=; bm=-1
for p in "$HOME"/.nvm/versions/node/v*/bin/node; do
  n=\${p%/bin/node}; n=\${n##*/v}; m=\${n%%.*}
  case $m in ''|*[!0-9]*) continue ;; esac
  if [ "$m" -gt "$bm" ]; then best=$p; bm=$m; fi
done
probe_node "$best" && found
for p in "$HOME/.asdf/shims/node" /opt/node/bin/node "$d"/agents/runtimes/*/node; do probe_node "$p" && found; done
printf 'end=1\\n'
`;

/**
 * For remotes without a shell (minimal containers): `node -e SCRIPT <version>`, run by each
 * candidate in turn. CommonJS (`-e` evaluates as a script) and Node 18 compatible.
 */
export const PROBE_NODE_SCRIPT = `
const os = require('os'), fs = require('fs'), path = require('path');
const version = process.argv[1] || '';
const lines = ['mutagen-probe=1'];
const put = (key, value) => lines.push(key + '=' + String(value).replace(/[\\r\\n]/g, ' '));
put('os', os.type());
put('arch', typeof os.machine === 'function' ? os.machine() : process.arch);
let libc = 'unknown';
try { const header = process.report.getReport().header; libc = header.glibcVersionRuntime ? 'glibc' : (process.platform === 'linux' ? 'musl' : 'unknown'); } catch {}
put('libc', libc);
const home = os.homedir();
put('home', home);
const data = process.env.MUTAGEN_DATA_DIRECTORY !== undefined ? process.env.MUTAGEN_DATA_DIRECTORY : path.join(home, '.mutagen-ts');
put('data', data);
try { if (path.isAbsolute(data)) { fs.mkdirSync(path.join(data, 'agents'), { recursive: true, mode: 0o700 }); fs.accessSync(path.join(data, 'agents'), fs.constants.W_OK); put('writable', 1); } } catch {}
if (fs.existsSync(path.join(data, 'agents', version, 'agent.mjs'))) put('agent', 1);
put('node', process.versions.node + ' ' + process.execPath);
put('end', 1);
process.stdout.write(lines.join('\\n') + '\\n');
`;
