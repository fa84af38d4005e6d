#!/usr/bin/env python3
"""EdgeWhisk's Python action proxy: OpenWhisk's runtime protocol (`POST /init`, `POST /run`) for Python 3 actions.

Standard library only, Python 3.9 or later. Runnable on its own:

    PORT=8080 HOST=0.0.0.0 python3 proxy.py

It keeps the state machine, responses, status codes and log sentinels of OpenWhisk's Node.js proxy
(docs/action-protocol.md), in the words of the ActionLoop runtimes where Python differs ("dictionary or array";
docs/action-protocol.md#the-python-proxy). Environment:

- `PORT` (default 8080; 0 = any free port) and `HOST` (default 0.0.0.0);
- `SOCKET`: a Unix socket path to listen on instead of TCP (EdgeWhisk's Docker runtime mounts one directory per
  container, so the engine reaches the proxy with no network at all); the socket is made connectable by any user;
- `__OW_ALLOW_CONCURRENT=true` accepts overlapping `/run` calls;
- `EW_READY_FD`: a file descriptor that receives `{"port": n}` once listening (EdgeWhisk's process runtime);
- `EW_PARENT_PID`: the proxy exits when that process is gone, so it never outlives the engine that started it;
- `EW_PROXY_SECRET`: when set, only requests carrying it in the `X-EdgeWhisk-Secret` header are served, others get
  403 and the connection is closed (EdgeWhisk's process runtime: any local process can reach a loopback port). It
  is removed from the environment before the action loads, so the action's own children do not inherit it;
- `EW_HEADERS_TIMEOUT` / `EW_REQUEST_TIMEOUT` (ms, default 10000 / 60000): how long a client may take to send a
  request's headers / the whole request; a connection that does not is closed. Only receiving is timed: the action
  itself runs as long as the engine lets it, and the engine's kept-alive connection may idle between requests.

Each request may carry `X-EdgeWhisk-Log-Limit` (bytes): the activation's log limit, enforced here, where the output
is produced (see LogBudget); without it the limit is OpenWhisk's largest, 10 MB.

Actions: plain source defining `main(args)` (or the function named by `main`, possibly a dotted path), or a
base64 zip / tar.gz holding `__main__.py` at its root. The action module is named `main__`, as in OpenWhisk's
Python runtime, so an `if __name__ == "__main__":` block does not run.
"""

import base64
import binascii
import hashlib
import hmac
import http.server
import importlib.util
import io
import json
import linecache
import os
import re
import shutil
import signal
import socket
import socketserver
import sys
import tarfile
import tempfile
import threading
import time
import traceback
import types
import zipfile

SENTINEL = 'XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX'
TERMINATED = 'EdgeWhisk action proxy: stopped by SIGTERM'
BODY_LIMIT = 48 * 1024 * 1024
TOO_LARGE = object()  # what _read_body answers for a body beyond BODY_LIMIT
MODULE_NAME = 'main__'
PLAIN_FILENAME = '<action>'
ENTRY_PATH = re.compile(r'[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*')

MSG_MISSING = 'Missing main/no code to execute.'
MSG_TWICE = 'Cannot initialize the action more than once.'
MSG_NOT_INITIALIZED = 'System not initialized.'
MSG_BAD_REQUEST = 'Bad request.'
MSG_NOT_A_DICT = 'The action did not return a dictionary or array.'
MSG_UNSUPPORTED = 'There was an error uncompressing the action archive. The file type is unsupported'
MSG_ZIP = 'There was an error uncompressing the action Zip archive.'
MSG_TGZ = 'There was an error uncompressing the action Tar GZ archive.'
MSG_NO_MAIN_PY = 'Zipped actions must contain __main__.py at the root.'

PROXY_FILE = os.path.abspath(__file__)
CONCURRENT = os.environ.get('__OW_ALLOW_CONCURRENT') == 'true'
# Read once and removed at once: the action (and whatever it starts) must not see it.
SECRET = os.environ.pop('EW_PROXY_SECRET', '')
SECRET_HEADER = 'X-EdgeWhisk-Secret'
LOG_LIMIT_HEADER = 'X-EdgeWhisk-Log-Limit'
MSG_FORBIDDEN = 'Forbidden: this action proxy serves only the engine that started it.'


def _env_seconds(name, fallback_ms):
    try:
        value = int(os.environ.get(name, ''))
    except ValueError:
        value = 0
    return (value if value > 0 else fallback_ms) / 1000.0


HEADERS_TIMEOUT = _env_seconds('EW_HEADERS_TIMEOUT', 10000)
REQUEST_TIMEOUT = max(HEADERS_TIMEOUT, _env_seconds('EW_REQUEST_TIMEOUT', 60000))

# Keep in step with LOG_TRUNCATED in src/activations/log-collector.ts (checked by a test).
LOG_TRUNCATED = 'Logs were truncated because the total bytes size exceeds the limit of %d bytes.'
DEFAULT_LOG_LIMIT = 10 * 1024 * 1024  # when the engine does not say: OpenWhisk's largest log limit
# Bytes each line costs beyond its text and newline: the engine stores it as `<ISO time padded to 30> <stream>: `,
# and the limit bounds what is stored; counting the same stops where the engine's own count would.
LINE_OVERHEAD = 39


# ---------------------------------------------------------------------------------------------------------------
# Output streams: UTF-8, whole lines, and sentinels that always sit on a line of their own.


class LogBudget:
    """An activation's stdout and stderr together carry at most its log limit, bounded here where they are written.

    Past the limit further output is dropped and one truncation line follows, in OpenWhisk's words; the sentinels
    always get through. Without this an action printing in a loop makes the engine read (and the pipe carry)
    every line only for the engine to drop it. Used with the output lock held.
    """

    def __init__(self):
        self.limit = DEFAULT_LOG_LIMIT
        self.used = 0
        self.truncated = False

    def begin(self, limit, continuing=False):
        """Starts counting for /init or /run; a cold activation's first run goes on counting its init's output."""
        self.limit = DEFAULT_LOG_LIMIT if limit is None else limit
        if not continuing:
            self.used = 0
            self.truncated = False

    def admit(self, text):
        """The part of `text` that may be written (whole lines when it is cut), and whether the note is due."""
        if self.truncated or self.limit == 0:
            return '', False  # a limit of 0: the engine collects nothing, as OpenWhisk
        size = len(text.encode('utf-8', 'backslashreplace')) + LINE_OVERHEAD * text.count('\n')
        if self.used + size <= self.limit:
            self.used += size
            return text, False
        self.truncated = True
        budget = self.limit - self.used
        end = 0
        while True:
            newline = text.find('\n', end)
            if newline < 0:
                break
            cost = len(text[end:newline + 1].encode('utf-8', 'backslashreplace')) + LINE_OVERHEAD
            if cost > budget:
                break
            budget -= cost
            end = newline + 1
        return text[:end], True


# Output written within this long of the last flush waits for the next one (the writer's or the flusher thread's).
FLUSH_DELAY = 0.005


class Flusher:
    """Flushes output soon after it is written rather than after every line.

    A flush per line costs a write system call per line here and a read per line in the engine: a loop printing
    a few hundred thousand lines kept the engine's event loop busy for seconds. A line written after a pause is
    still flushed at once (an action that prints and then crashes keeps its last words); lines that follow it
    within FLUSH_DELAY go out together, at the latest FLUSH_DELAY later.
    """

    def __init__(self, lock):
        self._lock = lock
        self._event = threading.Event()
        self._dirty = set()
        self._thread = None

    def due(self, stream):
        """Called with the output lock held."""
        self._dirty.add(stream)
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name='ew-flusher', daemon=True)
            self._thread.start()
        self._event.set()

    def _loop(self):
        while True:
            self._event.wait()
            time.sleep(FLUSH_DELAY)
            with self._lock:
                self._event.clear()
                dirty, self._dirty = self._dirty, set()
                for stream in dirty:
                    stream._raw_flush()


class LineStream(io.TextIOBase):
    """Wraps sys.stdout / sys.stderr so that each thread's output reaches the stream in whole lines.

    Concurrent actions (or threads an action starts) then never splice each other's lines, and a sentinel is
    always a line of its own even when the action printed without a trailing newline.
    """

    def __init__(self, raw, lock, budget, flusher):
        super().__init__()
        self._raw = raw
        self._lock = lock
        self._budget = budget
        self._flusher = flusher
        self._last_flush = 0.0
        self._pending = {}  # thread ident -> text after its last newline
        self._at_line_start = True
        self.other = self  # the sibling stream (stdout's stderr and back), set below

    def _emit(self, text):
        # Called with the lock held. Counted against the activation's log limit.
        if not text:
            return
        text, note = self._budget.admit(text)
        self._emit_raw(text)
        if note:
            # On this stream, right after its last line, and after the other stream's output has gone out: the
            # engine reads the two pipes independently and stops collecting at this line, so it must not overtake
            # anything written before it. The engine stores it as stderr.
            self.other._raw_flush()
            self._emit_raw(('' if self._at_line_start else '\n') + LOG_TRUNCATED % self._budget.limit + '\n')
            self._raw_flush()

    def _emit_raw(self, text):
        if text:
            try:
                self._raw.write(text)
            except (OSError, ValueError):
                return  # the reader is gone; the action must not fail for it
            self._at_line_start = text.endswith('\n')

    def _raw_flush(self):
        self._last_flush = time.monotonic()
        try:
            self._raw.flush()
        except (OSError, ValueError):
            pass

    def _flush_soon(self):
        if time.monotonic() - self._last_flush >= FLUSH_DELAY:
            self._raw_flush()
        else:
            self._flusher.due(self)

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError('write() argument must be str, not %s' % type(text).__name__)
        ident = threading.get_ident()
        with self._lock:
            head, newline, tail = (self._pending.pop(ident, '') + text).rpartition('\n')
            if newline:
                self._emit(head + newline)
                self._flush_soon()
            if tail:
                self._pending[ident] = tail
        return len(text)

    def flush(self):
        with self._lock:
            self._emit(self._pending.pop(threading.get_ident(), ''))
            self._raw_flush()

    def flush_all(self):
        with self._lock:
            own = self._pending.pop(threading.get_ident(), '')
            self._emit(own)
            for ident in list(self._pending):
                self._emit(self._pending.pop(ident))
            self._raw_flush()

    def sentinel(self):
        """Flushes partial lines (this thread's first), then writes the sentinel as a line of its own."""
        with self._lock:
            self.flush_all()
            self._emit_raw(('' if self._at_line_start else '\n') + SENTINEL + '\n')
            self._raw_flush()

    def writable(self):
        return True

    def readable(self):
        return False

    def isatty(self):
        return self._raw.isatty()

    def fileno(self):
        return self._raw.fileno()

    @property
    def encoding(self):
        return self._raw.encoding

    @property
    def errors(self):
        return self._raw.errors

    @property
    def buffer(self):
        return self._raw.buffer

    @property
    def line_buffering(self):
        return True

    def __getattr__(self, name):
        return getattr(self._raw, name)


def _utf8_stream(fd):
    """A UTF-8 text stream on `fd` with a buffer of its own, whatever `-u` the interpreter was started with.

    LineStream decides when it is flushed (see Flusher); unbuffered (`-u`, as the runtimes start Python) every line
    would still be a system call of its own. Text goes straight through to the buffer, so text and bytes written
    to `.buffer` stay in order.
    """
    try:
        stream = open(fd, 'w', encoding='utf-8', errors='backslashreplace', closefd=False, buffering=64 * 1024)
    except OSError:
        return open(os.devnull, 'w', encoding='utf-8')
    stream.reconfigure(write_through=True)
    return stream


_OUTPUT_LOCK = threading.RLock()
LOG_BUDGET = LogBudget()
FLUSHER = Flusher(_OUTPUT_LOCK)
STDOUT = LineStream(_utf8_stream(1), _OUTPUT_LOCK, LOG_BUDGET, FLUSHER)
STDERR = LineStream(_utf8_stream(2), _OUTPUT_LOCK, LOG_BUDGET, FLUSHER)
STDOUT.other = STDERR
STDERR.other = STDOUT
sys.stdout = STDOUT
sys.stderr = STDERR


def log_error(text):
    STDERR.write(text if text.endswith('\n') else text + '\n')
    STDERR.flush()


def write_sentinels():
    STDOUT.sentinel()
    STDERR.sentinel()


def begin_logs(limit, continuing=False):
    with _OUTPUT_LOCK:
        LOG_BUDGET.begin(limit, continuing)


# ---------------------------------------------------------------------------------------------------------------
# Errors and JSON


def exception_summary(error):
    """`<ExceptionName>: <message>`, or just the name when the message is empty."""
    try:
        message = str(error)
    except Exception:  # a hostile __str__
        message = ''
    name = type(error).__name__
    return '%s: %s' % (name, message) if message else name


def action_traceback(error):
    """The traceback of an action error without the proxy's own frames (and importlib's) at its top."""
    tb = error.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename != PROXY_FILE and not filename.startswith('<frozen'):
            break
        tb = tb.tb_next
    try:
        return ''.join(traceback.format_exception(type(error), error, tb))
    except Exception:
        return exception_summary(error) + '\n'


def _reject_constant(name):
    raise ValueError('invalid JSON constant %s' % name)


def parse_json(raw):
    return json.loads(raw.decode('utf-8'), parse_constant=_reject_constant)


def to_json(value):
    """Compact JSON text; raises ValueError or TypeError (or RecursionError) when the value is not JSON."""
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(',', ':'))
        text.encode('utf-8')
        return text
    except UnicodeEncodeError:
        # Lone surrogates cannot travel as UTF-8; \u escapes are valid JSON for them.
        return json.dumps(value, ensure_ascii=True, allow_nan=False, separators=(',', ':'))


def env_string(value):
    """Init env values stringified as OpenWhisk's invoker does (docs/action-protocol.md#init-environment)."""
    if value is None:
        return ''
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, int, float)):
        return json.dumps(value)
    return json.dumps(value, ensure_ascii=False, separators=(',', ':'))


def valid_env_name(key):
    return isinstance(key, str) and key != '' and '=' not in key and '\0' not in key


def set_env(key, value):
    """Sets one environment variable; a value the OS cannot hold (NUL, lone surrogate) is skipped."""
    try:
        os.environ[key] = value
        return True
    except (ValueError, UnicodeError):
        return False


def js_type(value):
    """The JavaScript `typeof` of a JSON value, so both EdgeWhisk proxies word their refusals alike."""
    if isinstance(value, bool):
        return 'boolean'
    if isinstance(value, (int, float)):
        return 'number'
    if isinstance(value, str):
        return 'string'
    return 'object'


class Reply:
    __slots__ = ('status', 'body')

    def __init__(self, status, body):
        self.status = status
        self.body = body if isinstance(body, str) else to_json(body)


def refuse(message, status=403, log=True):
    if log:
        log_error('Internal system error: ' + message)
    return Reply(status, {'error': message})


# ---------------------------------------------------------------------------------------------------------------
# Loading the action


class InitError(Exception):
    """An init failure whose message is the protocol's own wording (not an exception of the action)."""

    def __init__(self, message, detail=None):
        super().__init__(message)
        self.detail = detail


def _inside(root, name):
    """The absolute target of archive entry `name` under `root`, or InitError when it would land outside."""
    if name.startswith(('/', '\\')) or os.path.isabs(name) or '\0' in name or re.match(r'^[A-Za-z]:', name):
        raise ValueError('archive entry has an absolute path: %r' % name)
    target = os.path.normpath(os.path.join(root, name))
    if target != root and not target.startswith(root + os.sep):
        raise ValueError('archive entry escapes the action directory: %r' % name)
    return target


def _extract_zip(data, root):
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = archive.infolist()
        for member in members:
            _inside(root, member.filename)
        for member in members:
            target = _inside(root, member.filename)
            if member.is_dir():
                os.makedirs(target, exist_ok=True)
                continue
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with archive.open(member) as source, open(target, 'wb') as sink:
                shutil.copyfileobj(source, sink, 1024 * 1024)
            mode = (member.external_attr >> 16) & 0o777
            if mode:
                os.chmod(target, mode | 0o400)


def _inside_real(root, path):
    """Refuses `path` unless it resolves (through any links already extracted) to `root` or below."""
    real = os.path.realpath(path)
    if real != root and not real.startswith(root + os.sep):
        raise ValueError('archive entry resolves outside the action directory: %r' % os.path.relpath(path, root))


def _extract_tar(data, root):
    with tarfile.open(fileobj=io.BytesIO(data), mode='r:gz') as archive:
        members = archive.getmembers()
        for member in members:
            target = _inside(root, member.name)
            if member.issym():
                _inside(root, os.path.join(os.path.dirname(os.path.relpath(target, root)), member.linkname))
            elif member.islnk():
                _inside(root, member.linkname)
            elif not (member.isfile() or member.isdir()):
                raise ValueError('archive entry is not a file, directory or link: %r' % member.name)
        if hasattr(tarfile, 'data_filter'):
            archive.extractall(root, members=members, filter='data')
        else:
            # Pythons without extraction filters: one member at a time, each checked against the real tree so far,
            # so a chain of links cannot lead a later entry outside; no owners, no special mode bits.
            for member in members:
                target = _inside(root, member.name)
                _inside_real(root, os.path.dirname(target))
                if member.isdir():
                    os.makedirs(target, exist_ok=True)
                    continue
                if member.issym():
                    _inside_real(root, os.path.join(os.path.realpath(os.path.dirname(target)), member.linkname))
                elif member.islnk():
                    _inside_real(root, os.path.join(root, member.linkname))
                archive.extract(member, root, set_attrs=False)
                if member.isfile():
                    os.chmod(target, (member.mode & 0o755) | 0o600)
    # Every link of the final tree must stay inside.
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(folder, name)
            if os.path.islink(path):
                _inside_real(root, path)


def unpack(code):
    """Decodes and extracts a base64 archive into a fresh directory; returns that directory."""
    try:
        data = base64.b64decode(re.sub(r'\s+', '', code), validate=True)
    except (binascii.Error, ValueError) as error:
        raise InitError(MSG_UNSUPPORTED, 'the code is not valid base64: %s' % error)
    if data[:4] == b'PK\x03\x04':
        extract, message = _extract_zip, MSG_ZIP
    elif data[:3] == b'\x1f\x8b\x08':
        extract, message = _extract_tar, MSG_TGZ
    else:
        raise InitError(MSG_UNSUPPORTED, 'the archive starts with bytes %s' % data[:4].hex())
    root = os.path.realpath(tempfile.mkdtemp(prefix='ew-action-'))
    Cleanup.add(root)
    try:
        extract(data, root)
    except Exception as error:
        raise InitError(message, exception_summary(error))
    return root


class Cleanup:
    """Temporary action directories, removed when the proxy exits."""

    dirs = []

    @classmethod
    def add(cls, path):
        cls.dirs.append(path)

    @classmethod
    def run(cls):
        home = tempfile.gettempdir()
        for path in cls.dirs:
            try:
                if os.getcwd().startswith(path):
                    os.chdir(home)
            except OSError:
                pass
            shutil.rmtree(path, ignore_errors=True)
        cls.dirs = []


def resolve_entry(namespace, main, root):
    """Finds `main` (an identifier path) by dict and attribute lookup; never evaluates it.

    Dunder segments are refused, and the walk never enters a module from outside the action's own directory, so
    `os.system` or `__builtins__.eval` find nothing even when the action imported `os`.
    """
    parts = main.split('.')
    if any(part.startswith('__') and part.endswith('__') for part in parts):
        return None
    if parts[0] not in namespace:
        return None
    value = namespace[parts[0]]
    for part in parts[1:]:
        if isinstance(value, dict):
            if part not in value:
                return None
            value = value[part]
            continue
        if isinstance(value, types.ModuleType):
            origin = getattr(value, '__file__', None)
            if root is None or not isinstance(origin, str) or not os.path.realpath(origin).startswith(root + os.sep):
                return None
        try:
            value = getattr(value, part)
        except Exception:
            return None
    return value


def load_action(code, binary, main):
    """Loads the action and returns its entry point; raises InitError or the action's own exception."""
    if not ENTRY_PATH.fullmatch(main):
        raise InitError("Action entrypoint '%s' is not a function." % main, 'the entry point is not an identifier path')
    module = types.ModuleType(MODULE_NAME)
    sys.modules[MODULE_NAME] = module
    root = None
    if binary:
        root = unpack(code)
        path = os.path.join(root, '__main__.py')
        if not os.path.isfile(path):
            raise InitError(MSG_NO_MAIN_PY)
        os.chdir(root)
        sys.path.insert(0, root)
        importlib.invalidate_caches()
        spec = importlib.util.spec_from_file_location(MODULE_NAME, path)
        if spec is None or spec.loader is None:
            raise InitError(MSG_NO_MAIN_PY)
        module = importlib.util.module_from_spec(spec)
        sys.modules[MODULE_NAME] = module
        spec.loader.exec_module(module)
    else:
        if code.startswith('\ufeff'):
            code = code[1:]  # a byte-order mark is not Python
        # Registered with linecache so tracebacks show the action's source lines.
        linecache.cache[PLAIN_FILENAME] = (len(code), None, code.splitlines(True), PLAIN_FILENAME)
        exec(compile(code, PLAIN_FILENAME, 'exec', dont_inherit=True), module.__dict__)
    entry = resolve_entry(module.__dict__, main, root)
    if not callable(entry):
        raise InitError("Action entrypoint '%s' is not a function." % main)
    return entry


# ---------------------------------------------------------------------------------------------------------------
# The state machine (docs/action-protocol.md#states)


class Proxy:
    def __init__(self):
        self.lock = threading.Lock()
        self.state = 'ready'  # ready -> starting -> ready <-> running; stopped is terminal
        self.entry = None
        self.in_flight = 0
        self.saved_env = {}
        self.init_logs_open = False  # a successful init's activation goes on with its first run

    def init(self, body, log_limit=None):
        with self.lock:
            if self.entry is not None:
                return refuse(MSG_TWICE)
            if self.state != 'ready':
                return Reply(403, {'error': 'System not ready, status is %s.' % self.state})
            value = body.get('value')
            value = value if isinstance(value, dict) else {}
            code = value.get('code')
            main = value.get('main')
            if main is None and isinstance(code, str) and code != '':
                main = 'main'
            if not isinstance(main, str) or main == '' or not isinstance(code, str) or code == '':
                return Reply(403, {'error': MSG_MISSING})
            self.state = 'starting'
            begin_logs(log_limit)
        env = value.get('env')
        if isinstance(env, dict):
            for key, raw in env.items():
                if valid_env_name(key):
                    set_env(key, env_string(raw))
        try:
            entry = load_action(code, value.get('binary') is True, main)
        except InitError as error:
            detail = str(error) + (' (%s)' % error.detail if error.detail else '')
            return self._init_failed(str(error), detail + '\n')
        except BaseException as error:  # SyntaxError, ImportError, SystemExit, ... raised while loading
            return self._init_failed(exception_summary(error), action_traceback(error))
        with self.lock:
            self.entry = entry
            self.state = 'ready'
            self.init_logs_open = True
        STDOUT.flush()
        STDERR.flush()
        return Reply(200, {'ok': True})

    def _init_failed(self, message, detail):
        with self.lock:
            self.state = 'stopped'
        log_error('Error during initialization: ' + detail)
        write_sentinels()
        return Reply(502, {'error': 'Initialization has failed due to: ' + message})

    def run(self, body, log_limit=None):
        with self.lock:
            if self.entry is None:
                return refuse(MSG_NOT_INITIALIZED)
            if self.state in ('stopped', 'starting') or (self.state == 'running' and not CONCURRENT):
                return refuse('System not ready, status is %s.' % self.state)
            value = body.get('value')
            if value is None:
                value = {}
            if not isinstance(value, (dict, list)):
                message = "the argument must be a dictionary but has type '%s'." % js_type(value)
                return Reply(403, {'error': 'Internal system error: ' + message})
            if not CONCURRENT:
                self.state = 'running'
            # Overlapping runs (concurrency > 1) share one count: their interleaved output is one stream anyway.
            if self.in_flight == 0:
                begin_logs(log_limit, self.init_logs_open)
            self.init_logs_open = False
            # The activation's context, exported for its duration; the previous values return when the last
            # overlapping run ends.
            for key, raw in body.items():
                if key == 'value' or not isinstance(raw, str) or not valid_env_name(key):
                    continue
                name = '__OW_' + key.upper()
                if name not in self.saved_env:
                    self.saved_env[name] = os.environ.get(name)
                set_env(name, raw)
            self.in_flight += 1
            entry = self.entry
        threw = False
        try:
            reply, threw = self._call(entry, value)
        finally:
            with self.lock:
                self.in_flight -= 1
                if threw:
                    self.state = 'stopped'
                elif self.state == 'running':
                    self.state = 'ready'
                if self.in_flight == 0:
                    for name, previous in self.saved_env.items():
                        if previous is None:
                            os.environ.pop(name, None)
                        else:
                            set_env(name, previous)
                    self.saved_env = {}
            write_sentinels()
        return reply

    @staticmethod
    def _call(entry, value):
        """Calls the action; returns (reply, threw)."""
        try:
            result = entry(value)
            if isinstance(result, types.CoroutineType):
                import asyncio
                result = asyncio.run(result)
        except BaseException as error:  # the action's own failure, SystemExit included
            log_error(action_traceback(error))
            return Reply(502, {'error': 'An error has occurred: ' + exception_summary(error)}), True
        if result is None:
            return Reply(200, '{}'), False
        if not isinstance(result, (dict, list)):
            try:
                shown = repr(result)
            except Exception:
                shown = '<unprintable>'
            kind = type(result).__name__
            log_error('Result must be of type dict or list but has type "%s": %s' % (kind, shown[:1000]))
            return Reply(502, {'error': MSG_NOT_A_DICT}), False
        try:
            return Reply(200, to_json(result)), False
        except (TypeError, ValueError, RecursionError) as error:
            log_error('The result is not JSON: ' + exception_summary(error))
            return Reply(502, {'error': 'The action did not return a JSON-serializable dictionary or array: '
                                        + exception_summary(error)}), False


PROXY = Proxy()


# ---------------------------------------------------------------------------------------------------------------
# HTTP


class Deadlines:
    """Shuts connections whose request did not arrive in time (EW_HEADERS_TIMEOUT, EW_REQUEST_TIMEOUT).

    A socket timeout would not do: it bounds each read, so a client sending a byte every few seconds could hold a
    connection (and its thread) forever. One watchdog thread shuts the socket at the deadline instead; the
    handler's blocked read then sees the end of the stream and the connection closes.
    """

    def __init__(self):
        self._cond = threading.Condition()
        self._due = {}  # socket -> time.monotonic() deadline
        self._thread = None

    def arm(self, sock, when):
        with self._cond:
            self._due[sock] = when
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name='ew-deadlines', daemon=True)
                self._thread.start()
            self._cond.notify()

    def clear(self, sock):
        with self._cond:
            self._due.pop(sock, None)

    def _loop(self):
        with self._cond:
            while True:
                now = time.monotonic()
                for sock, when in list(self._due.items()):
                    if when <= now:
                        del self._due[sock]
                        try:
                            sock.shutdown(socket.SHUT_RDWR)
                        except OSError:
                            pass
                self._cond.wait(min(self._due.values()) - now if self._due else None)


DEADLINES = Deadlines()


def _digest(text):
    return hashlib.sha256(text.encode('utf-8', 'surrogateescape')).digest()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'  # keep-alive for the engine's agent; every response has a Content-Length
    server_version = 'EdgeWhiskPythonProxy'
    disable_nagle_algorithm = True  # headers and body go out as separate writes: no 40 ms delayed-ACK stalls

    def version_string(self):
        return self.server_version

    def log_message(self, format, *args):  # noqa: A002 - no access log on the action's streams
        pass

    def send_json(self, reply, head=False):
        data = reply.body.encode('utf-8')
        self.send_response(reply.status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        if self.close_connection:
            self.send_header('Connection', 'close')
        self.end_headers()
        if not head:
            self.wfile.write(data)
        self.wfile.flush()

    def setup(self):
        super().setup()
        self._served = False
        # The first request, headers and all, must come within HEADERS_TIMEOUT of the connection.
        self._started = time.monotonic()
        DEADLINES.arm(self.connection, self._started + HEADERS_TIMEOUT)

    def finish(self):
        DEADLINES.clear(self.connection)
        super().finish()

    def handle_one_request(self):
        if self._served:
            # Between requests a kept-alive connection may idle (the engine's does, for as long as the container
            # lives); the clock starts with the next request's first byte.
            try:
                if not self.rfile.peek(1):
                    self.close_connection = True
                    return
            except (OSError, ValueError):
                self.close_connection = True
                return
            self._started = time.monotonic()
            DEADLINES.arm(self.connection, self._started + HEADERS_TIMEOUT)
        self._served = True
        super().handle_one_request()
        DEADLINES.clear(self.connection)

    def parse_request(self):
        if not super().parse_request():
            return False
        if time.monotonic() >= self._started + HEADERS_TIMEOUT:
            # The watchdog ended the headers (a cut-off stream reads as their end): nothing of it is served.
            self.close_connection = True
            return False
        return True

    def _begin_body(self):
        """Headers are in: the rest of the request must come within REQUEST_TIMEOUT of its start."""
        DEADLINES.arm(self.connection, self._started + REQUEST_TIMEOUT)

    def _authorized(self):
        """Whether the request carries the proxy's secret (always, when it has none); constant-time compare."""
        if not SECRET:
            return True
        given = self.headers.get(SECRET_HEADER)
        return given is not None and hmac.compare_digest(_digest(given), _digest(SECRET))

    def _forbid(self):
        # Nothing in the action's logs: a stranger's request is not its business. A small body is read first (in
        # the request's time), since closing on unread data resets the connection before the client reads the 403.
        self.close_connection = True
        try:
            length = int(self.headers.get('Content-Length') or 0)
        except ValueError:
            length = 0
        if 0 < length <= 64 * 1024:
            self._begin_body()
            self.rfile.read(length)
        self.send_json(Reply(403, {'error': MSG_FORBIDDEN}))

    def _log_limit(self):
        value = (self.headers.get(LOG_LIMIT_HEADER) or '').strip()
        return int(value) if re.fullmatch(r'[0-9]{1,15}', value) else None

    def send_error(self, code, message=None, explain=None):
        # Protocol errors (bad request line, unknown method, oversized headers) get the proxy's JSON body too.
        self.close_connection = True
        try:
            self.send_json(Reply(500, {'error': MSG_BAD_REQUEST}), head=getattr(self, 'command', None) == 'HEAD')
        except OSError:
            pass

    def _read_body(self):
        """The request body; TOO_LARGE beyond BODY_LIMIT, None when unreadable (the connection is then closed)."""
        if 'chunked' in self.headers.get('Transfer-Encoding', '').lower():
            chunks, size = [], 0
            while True:
                line = self.rfile.readline(1024)
                try:
                    length = int(line.split(b';', 1)[0].strip() or b'x', 16)
                except ValueError:
                    return None
                if length == 0:
                    while self.rfile.readline(8192) not in (b'\r\n', b'\n', b''):
                        pass
                    return b''.join(chunks)
                size += length
                if size > BODY_LIMIT:
                    return TOO_LARGE
                chunks.append(self.rfile.read(length))
                self.rfile.readline(8)
        header = self.headers.get('Content-Length')
        if header is None:
            return b''
        try:
            length = int(header)
        except ValueError:
            return None
        if length < 0:
            return None
        if length > BODY_LIMIT:
            # Drain a moderately oversized body (bounded memory) so the client can read the refusal.
            remaining = length if length <= 4 * BODY_LIMIT else 0
            while remaining > 0:
                chunk = self.rfile.read(min(remaining, 1024 * 1024))
                if not chunk:
                    break
                remaining -= len(chunk)
            return TOO_LARGE
        data = self.rfile.read(length)
        return data if len(data) == length else None

    def _handle(self, route):
        if not self._authorized():
            return self._forbid()
        self._begin_body()
        raw = self._read_body()
        DEADLINES.clear(self.connection)
        if raw is TOO_LARGE:
            self.close_connection = True
            message = 'Request larger than allowed: the limit is %d bytes.' % BODY_LIMIT
            return self.send_json(Reply(413, {'error': message}))
        if raw is None:
            self.close_connection = True
            return self.send_json(Reply(500, {'error': MSG_BAD_REQUEST}))
        try:
            body = {} if raw.strip() == b'' else parse_json(raw)
        except (ValueError, RecursionError):
            body = None
        if not isinstance(body, dict) or route not in ('/init', '/run'):
            return self.send_json(Reply(500, {'error': MSG_BAD_REQUEST}))
        try:
            limit = self._log_limit()
            reply = PROXY.init(body, limit) if route == '/init' else PROXY.run(body, limit)
        except Exception as error:  # a bug in the proxy itself: answer rather than drop the connection
            log_error('Internal system error: ' + action_traceback(error))
            reply = Reply(500, {'error': 'Internal error.'})
        self.send_json(reply)

    def do_POST(self):  # noqa: N802
        self._handle(self.path.split('?', 1)[0])

    def _not_post(self):
        if not self._authorized():
            return self._forbid()
        self._begin_body()
        if not isinstance(self._read_body(), bytes):
            self.close_connection = True
        self.send_json(Reply(500, {'error': MSG_BAD_REQUEST}), head=self.command == 'HEAD')

    do_GET = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = _not_post  # noqa: N815


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 1024

    def handle_error(self, request, client_address):
        # A client that went away mid-request is not the action's business: keep the streams clean.
        pass


class UnixHandler(Handler):
    disable_nagle_algorithm = False  # TCP_NODELAY does not exist on a Unix socket

    def address_string(self):
        return 'unix'


class UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 1024

    def handle_error(self, request, client_address):
        pass


def make_server(host, port):
    Server.address_family = socket.AF_INET6 if ':' in host else socket.AF_INET
    return Server((host, port), Handler)


def make_unix_server(path):
    # A leftover socket file from an earlier proxy would make bind fail; nothing else may live at that path.
    try:
        if os.path.exists(path) and not os.path.isdir(path):
            os.unlink(path)
    except OSError:
        pass
    server = UnixServer(path, UnixHandler)
    # The engine may run as another user than the proxy (a container's uid): let it connect.
    os.chmod(path, 0o666)
    return server


# ---------------------------------------------------------------------------------------------------------------
# Process lifetime


def shutdown(code=0, group=False):
    """Exits now; with `group`, ends the proxy's process group too (itself included) when it leads one."""
    try:
        STDOUT.flush_all()
        STDERR.flush_all()
    except Exception:
        pass
    Cleanup.run()
    if group and os.getpid() > 1 and os.getpgrp() == os.getpid():
        try:
            os.killpg(os.getpid(), signal.SIGKILL)
        except OSError:
            pass
    os._exit(code)


def parent_gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, owned by someone else
    except OSError:
        return True
    # An exited but unreaped parent still answers kill(0): it is a zombie.
    try:
        with open('/proc/%d/stat' % pid, 'rb') as stat:
            return stat.read().rsplit(b')', 1)[1].split()[0] in (b'Z', b'X')
    except (OSError, IndexError):
        return False


def watch_parent():
    try:
        pid = int(os.environ.get('EW_PARENT_PID', ''))
    except ValueError:
        return
    if pid <= 0:
        return

    def loop():
        while True:
            if parent_gone(pid):
                # Nobody will ever ask for a result again. What the action started in the proxy's process group
                # goes too (the engine would have killed it).
                shutdown(0, group=True)
            time.sleep(1.0)

    threading.Thread(target=loop, name='ew-parent-watch', daemon=True).start()


def announce(port, unix_path=''):
    try:
        fd = int(os.environ.get('EW_READY_FD', ''))
    except ValueError:
        return
    if fd < 0:
        return
    try:
        message = {'socket': unix_path} if unix_path else {'port': port}
        os.write(fd, (json.dumps(message) + '\n').encode('utf-8'))
    except OSError:
        pass  # nobody listens on that descriptor; the proxy still serves
    try:
        os.close(fd)
    except OSError:
        pass


def main():
    sys.dont_write_bytecode = True
    # Only a container runtime stopping the container sends SIGTERM (the engine kills outright): say so, so the
    # engine can tell a stopped container from an action that exited.
    signal.signal(signal.SIGTERM, lambda *_: (STDERR.write(TERMINATED + '\n'), shutdown(0)))
    signal.signal(signal.SIGINT, lambda *_: shutdown(0))
    host = os.environ.get('HOST') or '0.0.0.0'
    unix_path = os.environ.get('SOCKET') or ''
    try:
        port = int(os.environ.get('PORT', '8080'))
    except ValueError:
        port = 8080
    if port < 0 or port > 65535:
        port = 8080
    try:
        server = make_unix_server(unix_path) if unix_path else make_server(host, port)
    except OSError as error:
        log_error('Cannot serve: %s' % error)
        shutdown(1)
    announce(0 if unix_path else server.server_address[1], unix_path)
    watch_parent()
    try:
        server.serve_forever(poll_interval=0.5)
    finally:
        shutdown(0)


if __name__ == '__main__':
    main()
