"""lamina run: real programs (Python, sh and their children) in the sandbox, as root and as an
unprivileged user (nobody, through setpriv and a user namespace). Each test writes a manifest
in its own directory; all share a store per user, so trees of equal manifests are reused."""
import hashlib
import os
import pathlib
import shutil
import signal
import subprocess
import tempfile

import pytest

PY = "/usr/bin/python3.11"
LIBDIR = "/lib/x86_64-linux-gnu"
LIBS = ["/lib64/ld-linux-x86-64.so.2"] + [f"{LIBDIR}/{lib}" for lib in (
    "libc.so.6", "libm.so.6", "libz.so.1", "libexpat.so.1")]
STDLIB = "/usr/lib/python3.11/"
NOBODY = 65534

USERS = ["root", "nobody"]


def sha256(path):
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()


def shared_dir(owner):
    """A directory under /tmp that nobody can reach (pytest's own are root's, mode 0700)."""
    path = pathlib.Path(tempfile.mkdtemp(prefix="lamina-test-"))
    path.chmod(0o755)
    os.chown(path, owner, owner)
    return path


@pytest.fixture(scope="session")
def stores():
    parents = {"root": shared_dir(0), "nobody": shared_dir(NOBODY)}
    yield {user: parent / "store" for user, parent in parents.items()}
    for parent in parents.values():
        shutil.rmtree(parent)


class Sandbox:
    """A directory with a manifest and scripts, and the way to run lamina on it."""

    def __init__(self, lamina_path, store, user, work):
        self.lamina_path, self.store, self.user, self.dir = lamina_path, store, user, work

    def manifest(self, trusted=(), allowed=(), extra="", name="app.manifest", python=True,
                 stdlib="allowed"):
        files = list(trusted)
        allow = list(allowed)
        if python:
            files += [PY, "/usr/bin/python3"] + LIBS
            (files if stdlib == "trusted" else allow).append(STDLIB)
        entries = lambda xs: ", ".join(x if x.startswith("{") else f'"file:{x}"' for x in xs)
        text = (f'libos.entrypoint = "{PY if python else "/bin/sh"}"\n'
                "loader.insecure__use_cmdline_argv = true\n"
                'loader.env.PATH = "/usr/bin:/bin"\n'
                'loader.env.HOME = "/"\n'
                'loader.env.PYTHONUNBUFFERED = "1"\n'
                f"sgx.trusted_files = [{entries(files)}]\n"
                f"sgx.allowed_files = [{entries(allow)}]\n" + extra)
        path = self.dir / name
        path.write_text(text)
        return path

    def write(self, name, text, mode=0o644):
        path = self.dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(mode)
        return path

    def command(self, *args):
        return self.lamina_command("run", "--store", str(self.store), *args)

    def lamina_command(self, *args):
        cmd = [str(self.lamina_path), *map(str, args)]
        if self.user == "nobody":
            cmd = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                   *cmd]
        return cmd

    def run(self, *args, input=None):
        return subprocess.run(self.command(*args), cwd=self.dir, capture_output=True,
                              text=True, input=input, timeout=120)

    def popen(self, *args):
        return subprocess.Popen(self.command(*args), cwd=self.dir, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)


@pytest.fixture(params=USERS)
def box(request, lamina_path, stores):
    user = request.param
    work = shared_dir(NOBODY if user == "nobody" else 0)
    yield Sandbox(lamina_path, stores[user], user, work)
    shutil.rmtree(work)


def script(box, text, name="app.py"):
    path = box.write(name, text)
    if box.user == "nobody":
        os.chown(path, NOBODY, NOBODY)
    return path


def test_exit_status(box):
    script(box, "import sys\nprint('hello')\nsys.exit(7)\n")
    manifest = box.manifest(trusted=["app.py"])
    r = box.run(manifest, "app.py")
    assert (r.returncode, r.stdout) == (7, "hello\n"), r.stderr


def test_killed_by_signal(box):
    script(box, "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n")
    r = box.run(box.manifest(trusted=["app.py"]), "app.py")
    assert r.returncode == 128 + signal.SIGKILL, r.stderr


def test_sigterm_reaches_the_program(box):
    script(box, "import signal, sys\n"
                "def bye(n, f):\n"
                "    print('got SIGTERM', flush=True)\n"
                "    sys.exit(0)\n"
                "signal.signal(signal.SIGTERM, bye)\n"
                "print('ready', flush=True)\n"
                "signal.pause()\n")
    p = box.popen(box.manifest(trusted=["app.py"]), "app.py")
    assert p.stdout.readline() == "ready\n"
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=60)
    assert (p.returncode, out) == (0, "got SIGTERM\n"), err


def test_python_shell_python(box):
    script(box, "import os\n"
                "print(os.system('python3 child.py 0'))\n"
                "print(os.system('python3 child.py 3'))\n")
    script(box, "import sys\nprint('child', sys.argv[1])\nsys.exit(int(sys.argv[1]))\n",
           "child.py")
    r = box.run(box.manifest(trusted=["app.py", "child.py", "/bin/sh"]), "app.py")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "child 0\n0\nchild 3\n768\n"


def test_subprocess_forms(box):
    script(box, "import subprocess, sys\n"
                "print(subprocess.run([sys.executable, '-c', 'print(1)'],"
                " capture_output=True, text=True).stdout, end='')\n"
                "print(subprocess.run('echo 2 && exit 5', shell=True).returncode)\n"
                "p = subprocess.Popen(['python3', '-c', 'import sys; "
                "print(sys.stdin.read().upper())'], stdin=subprocess.PIPE,"
                " stdout=subprocess.PIPE, text=True)\n"
                "print(p.communicate('three')[0], end='')\n"
                "print(subprocess.check_output(['python3', '-c', 'print(4)'], text=True), end='')\n")
    r = box.run(box.manifest(trusted=["app.py", "/bin/sh"]), "app.py")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "1\n2\n5\nTHREE\n4\n"


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_multiprocessing(box, method):
    script(box, "import multiprocessing as mp\n"
                "from multiprocessing import shared_memory\n"
                "def square(x):\n    return x * x\n"
                "def put(q, lock, sem):\n"
                "    with lock, sem:\n        q.put('queued')\n"
                "if __name__ == '__main__':\n"
                f"    mp.set_start_method('{method}')\n"
                "    with mp.Pool(4) as pool:\n        print(pool.map(square, range(6)))\n"
                "    q, lock, sem = mp.Queue(), mp.Lock(), mp.Semaphore(2)\n"
                "    p = mp.Process(target=put, args=(q, lock, sem))\n"
                "    p.start(); print(q.get()); p.join(); print(p.exitcode)\n"
                "    shm = shared_memory.SharedMemory(create=True, size=16)\n"
                "    shm.buf[:5] = b'hello'\n"
                "    other = shared_memory.SharedMemory(name=shm.name)\n"
                "    print(bytes(other.buf[:5]).decode())\n"
                "    other.close(); shm.close(); shm.unlink()\n")
    r = box.run(box.manifest(trusted=["app.py"]), "app.py")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "[0, 1, 4, 9, 16, 25]\nqueued\n0\nhello\n"


def test_shebang_scripts(box):
    script(box, "import subprocess\n"
                "print(subprocess.run(['./hello.sh'], capture_output=True, text=True).stdout,"
                " end='')\n"
                "print(subprocess.run(['./hello.py'], capture_output=True, text=True).stdout,"
                " end='')\n")
    for name, text in (("hello.sh", "#!/bin/sh\necho from sh\n"),
                       ("hello.py", "#!/usr/bin/env python3\nprint('from python')\n")):
        path = script(box, text, name)
        path.chmod(0o755)
    r = box.run(box.manifest(trusted=["app.py", "hello.sh", "hello.py", "/bin/sh",
                                      "/usr/bin/env"]), "/app.py")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "from sh\nfrom python\n"


def test_changed_byte_is_refused(box):
    path = script(box, "print('original')\n")
    digest = sha256(path)
    manifest = box.manifest(trusted=[f'{{ uri = "file:app.py", sha256 = "{digest}" }}'])
    assert box.run(manifest, "app.py").stdout == "original\n"
    path.write_text("print('Original')\n")
    r = box.run(manifest, "app.py")
    assert r.returncode == 126
    assert r.stdout == ""
    actual = sha256(path)
    assert r.stderr.splitlines()[-1] == (
        f"lamina: '{box.dir}/app.py' does not match its hash: the manifest entry "
        f"{manifest}:6: file:app.py expects sha256 {digest}, the file has {actual}")


def test_host_files_outside_the_manifest_do_not_exist(box):
    script(box, "import os\n"
                "for p in ('/etc/hostname', '/root', '/usr/bin/ls', '/home'):\n"
                "    print(p, os.path.exists(p))\n"
                "print(sorted(os.listdir('/')))\n")
    r = box.run(box.manifest(trusted=["app.py"]), "app.py")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[:4] == ["/etc/hostname False", "/root False",
                                         "/usr/bin/ls False", "/home False"]
    assert r.stdout.splitlines()[4] == str(sorted(["app.py", "dev", "lib", "lib64", "proc",
                                                    "tmp", "usr"]))


def test_writes(box):
    (box.dir / "out").mkdir()
    if box.user == "nobody":
        os.chown(box.dir / "out", NOBODY, NOBODY)
    script(box, "import errno\n"
                "try:\n    open('/app.py', 'a')\nexcept OSError as e:\n"
                "    print(errno.errorcode[e.errno])\n"
                "try:\n    open('/usr/bin/python3.11', 'wb')\nexcept OSError as e:\n"
                "    print(errno.errorcode[e.errno])\n"
                "with open('/out/result.txt', 'w') as f:\n    f.write('written inside')\n"
                "with open('/tmp/scratch', 'w') as f:\n    f.write('tmp is writable')\n"
                "print('ok')\n")
    r = box.run(box.manifest(trusted=["app.py"], allowed=["out/"],
                             extra="sgx.allow_file_creation = true\n"), "app.py")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] in ("EACCES", "EROFS") and lines[1] in ("EACCES", "EROFS"), r.stdout
    assert lines[2:] == ["ok"]
    assert (box.dir / "out" / "result.txt").read_text() == "written inside"


def test_file_creation_needs_the_manifest(box):
    (box.dir / "out").mkdir()
    (box.dir / "out" / "existing.txt").write_text("old")
    if box.user == "nobody":
        for p in (box.dir / "out", box.dir / "out" / "existing.txt"):
            os.chown(p, NOBODY, NOBODY)
    script(box, "import errno, os\n"
                "with open('/out/existing.txt', 'w') as f:\n    f.write('new')\n"
                "for make in (lambda: open('/out/new.txt', 'w'), lambda: os.mkdir('/out/d'),\n"
                "             lambda: os.symlink('x', '/out/l'),\n"
                "             lambda: os.rename('/out/existing.txt', '/out/renamed.txt')):\n"
                "    try:\n        make()\n        print('made')\n"
                "    except OSError as e:\n        print(errno.errorcode[e.errno])\n"
                "open('/tmp/scratch', 'w').close()\nprint('tmp ok')\n")
    r = box.run(box.manifest(trusted=["app.py"], allowed=["out/"]), "app.py")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "EACCES\nEACCES\nEACCES\nEACCES\ntmp ok\n"
    assert (box.dir / "out" / "existing.txt").read_text() == "new"
    assert sorted(p.name for p in (box.dir / "out").iterdir()) == ["existing.txt"]


def test_only_verified_code_runs(box):
    script(box, "import ctypes, errno, shutil, subprocess\n"
                "def attempt(what, f):\n"
                "    try:\n        f()\n        print(what, 'ran')\n"
                "    except OSError as e:\n        print(what, errno.errorcode.get(e.errno, e))\n"
                "attempt('exec ls', lambda: subprocess.run(['/usr/bin/ls']))\n"
                "shutil.copy('/usr/bin/python3.11', '/tmp/python')\n"
                "attempt('exec copy', lambda: subprocess.run(['/tmp/python', '-c', '1']))\n"
                "shutil.copy('/lib/x86_64-linux-gnu/libm.so.6', '/dev/shm/libm.so')\n"
                "try:\n    ctypes.CDLL('/dev/shm/libm.so')\n    print('mmap exec ran')\n"
                "except OSError as e:\n    print('mmap exec', 'refused' if 'not permitted' in str(e)"
                " or 'failed to map' in str(e) else e)\n"
                "ctypes.CDLL('libm.so.6')\nprint('trusted library loads')\n")
    manifest = box.manifest(trusted=["app.py", "/lib/x86_64-linux-gnu/libffi.so.8"],
                            stdlib="trusted")
    r = box.run(manifest, "app.py")
    assert r.returncode == 0, r.stderr
    assert r.stdout == ("exec ls ENOENT\nexec copy EACCES\nmmap exec refused\n"
                        "trusted library loads\n")


def test_nothing_is_left_running(box):
    marker = f"lamina-left-{os.getpid()}-{box.user}"
    script(box, "import subprocess\n"
                f"subprocess.Popen(['python3', '-c', 'import time; time.sleep(600)', '{marker}'])\n"
                "print('started')\n")
    r = box.run(box.manifest(trusted=["app.py"]), "app.py")
    assert (r.returncode, r.stdout) == (0, "started\n"), r.stderr
    left = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True)
    assert left.stdout == ""


def test_arguments_need_the_manifest_to_allow_them(box):
    script(box, "print('never')\n")
    manifest = box.write("strict.manifest",
                         f'libos.entrypoint = "{PY}"\nloader.argv = ["python3", "app.py"]\n'
                         f'sgx.trusted_files = ["file:app.py", "file:{PY}", '
                         + ", ".join(f'"file:{x}"' for x in LIBS) + "]\n"
                         f'sgx.allowed_files = ["file:{STDLIB}"]\n')
    r = box.run(manifest, "extra")
    assert r.returncode == 126
    assert r.stderr.splitlines()[-1] == (
        f"{manifest}: the manifest takes no arguments from the command line; to pass them, "
        "set loader.insecure__use_cmdline_argv = true")
    r = box.run(manifest)
    assert (r.returncode, r.stdout) == (0, "never\n"), r.stderr


def test_program_not_in_the_view(box):
    manifest = box.write("missing.manifest", 'libos.entrypoint = "/usr/bin/nonexistent"\n')
    r = box.run(manifest)
    assert r.returncode == 127
    assert r.stderr == "lamina: cannot execute '/usr/bin/nonexistent': No such file or directory\n"


def test_second_run_does_no_hashing_and_edits_are_seen(box):
    path = script(box, "print('first')\n")
    manifest = box.manifest(trusted=["app.py"], extra='loader.log_level = "debug"\n')
    r = box.run(manifest, "app.py")
    assert r.stdout == "first\n", r.stderr
    r = box.run(manifest, "app.py")
    assert r.stdout == "first\n", r.stderr
    assert [line for line in r.stderr.splitlines() if "verified tree" in line][0].endswith(
        "reused, 7 files, 0 hashed (0 bytes)")
    path.write_text("print('second')\n")
    r = box.run(manifest, "app.py")
    assert r.stdout == "second\n", r.stderr
    assert [line for line in r.stderr.splitlines() if "verified tree" in line][0].endswith(
        "built, 7 files, 1 hashed (16 bytes)")


def test_uid_and_gid(box):
    script(box, "import os\nprint(os.getuid(), os.getgid(), os.getgroups())\n")
    manifest = box.manifest(trusted=["app.py"], extra="loader.uid = 1000\nloader.gid = 1001\n")
    r = box.run(manifest, "app.py")
    if box.user == "root":
        assert (r.returncode, r.stdout) == (0, "1000 1001 []\n"), r.stderr
    else:
        assert r.returncode == 125
        assert r.stderr.splitlines()[-1] == (
            "lamina: cannot take gid 1001 (loader.gid): Invalid argument; without root, only "
            "your own gid is there")


def test_denials_are_explained_at_warning_level(box):
    script(box, "import os\n"
           "print(os.path.exists('/etc/hostname'))\n"
           "try:\n    open('/etc/hostname')\nexcept FileNotFoundError:\n    print('missing')\n"
           "print(os.path.exists('/nonexistent/file'))\n")
    manifest = box.manifest(trusted=["app.py"], extra='loader.log_level = "warning"\n')
    r = box.run(manifest, "app.py")
    assert (r.returncode, r.stdout) == (0, "False\nmissing\nFalse\n"), r.stderr
    denials = [line for line in r.stderr.splitlines() if "/etc/hostname" in line]
    assert denials == [
        'lamina: denied: pid 2 (/usr/bin/python3.11 app.py) stat "/etc/hostname": not in the '
        'manifest; allow with: sgx.allowed_files = ["file:/etc/hostname"]',
        'lamina: denied: pid 2 (/usr/bin/python3.11 app.py) open "/etc/hostname": not in the '
        'manifest; allow with: sgx.allowed_files = ["file:/etc/hostname"]']
    assert "/nonexistent" not in r.stderr


def test_no_listener_at_the_default_level(box):
    script(box, "open('/etc/hostname')\n")
    r = box.run(box.manifest(trusted=["app.py"]), "app.py")
    assert r.returncode == 1
    assert "denied" not in r.stderr
    assert r.stderr.splitlines()[-1] == (
        "FileNotFoundError: [Errno 2] No such file or directory: '/etc/hostname'")


def test_without_landlock_allowed_directories_need_allow_file_creation(box, lamina_path):
    (box.dir / "out").mkdir()
    script(box, "print('ran')\n")
    manifest = box.manifest(trusted=["app.py"], allowed=["out/"])
    deny = [str(lamina_path.parent / "tests" / "deny-syscall"), "landlock_create_ruleset:38"]
    r = subprocess.run(deny + box.command(manifest, "app.py"), cwd=box.dir,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 125
    assert r.stderr.splitlines()[-1] == (
        "lamina: this kernel has no Landlock, so lamina cannot keep the program from creating "
        "files in its allowed directories; set sgx.allow_file_creation = true, or enable "
        "Landlock (lsm=landlock)")
    manifest = box.manifest(trusted=["app.py"], allowed=["out/"],
                            extra="sgx.allow_file_creation = true\n")
    r = subprocess.run(deny + box.command(manifest, "app.py"), cwd=box.dir,
                       capture_output=True, text=True, timeout=60)
    assert (r.returncode, r.stdout) == (0, "ran\n"), r.stderr


@pytest.fixture
def nobody_box(lamina_path, stores):
    work = shared_dir(NOBODY)
    yield Sandbox(lamina_path, stores["nobody"], "nobody", work)
    shutil.rmtree(work)


def test_without_user_namespaces_the_error_says_what_to_change(nobody_box, lamina_path):
    """Only without root: root needs no user namespace."""
    box = nobody_box
    script(box, "print('ran')\n")
    deny = [str(lamina_path.parent / "tests" / "deny-syscall"), "unshare:1"]
    r = subprocess.run(deny + box.command(box.manifest(trusted=["app.py"]), "app.py"),
                       cwd=box.dir, capture_output=True, text=True, timeout=60)
    assert r.returncode == 125
    assert r.stderr.splitlines()[-1] == (
        "lamina: cannot make a user namespace: Operation not permitted; lamina needs "
        "unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1 and "
        "user.max_user_namespaces > 0), or to run as root")


def test_program_name_finds_its_manifest(box):
    script(box, "print('found')\n")
    box.manifest(trusted=["app.py"], name="app.manifest")
    r = box.run("app", "app.py")  # as Graphene: pal_loader ./app uses ./app.manifest
    assert (r.returncode, r.stdout) == (0, "found\n"), r.stderr


def test_allow_all_but_log_reports_and_runs(box):
    path = script(box, "print('original')\n")
    digest = sha256(path)
    manifest = box.manifest(trusted=[f'{{ uri = "file:app.py", sha256 = "{digest}" }}'],
                            extra='sgx.file_check_policy = "allow_all_but_log"\n')
    path.write_text("print('changed')\n")
    r = box.run(manifest, "app.py")
    assert (r.returncode, r.stdout) == (0, "changed\n"), r.stderr
    assert r.stderr.splitlines()[-2] == (
        f"lamina: warning: 1 trusted file(s) do not match their hash "
        f'(sgx.file_check_policy = "allow_all_but_log"); the first: \'{box.dir}/app.py\' '
        f"({manifest}:6: file:app.py) expects {digest}, has {sha256(path)}")


def test_host_mounts_are_untouched(box):
    before = pathlib.Path("/proc/self/mountinfo").read_text()
    script(box, "print('ran')\n")
    r = box.run(box.manifest(trusted=["app.py"], allowed=[]), "app.py")
    assert (r.returncode, r.stdout) == (0, "ran\n"), r.stderr
    assert pathlib.Path("/proc/self/mountinfo").read_text() == before


def test_store_ls_and_gc(box):
    script(box, "print('ran')\n")
    manifest = box.manifest(trusted=["app.py"])
    assert box.run(manifest, "app.py").returncode == 0
    ls = subprocess.run(box.lamina_command("store", "ls", "--store", box.store),
                        capture_output=True, text=True)
    assert ls.returncode == 0, ls.stderr
    assert any(line.endswith(f"  {manifest}") for line in ls.stdout.splitlines()), ls.stdout
    gc = subprocess.run(box.lamina_command("store", "gc", "--store", box.store),
                        capture_output=True, text=True)
    assert gc.returncode == 0, gc.stderr
    assert gc.stdout.startswith("removed ")
    assert box.run(manifest, "app.py").stdout == "ran\n"


def test_disallow_subprocesses(box):
    script(box, "import os, subprocess, threading\n"
                "t = threading.Thread(target=print, args=('thread ok',)); t.start(); t.join()\n"
                "for attempt in range(2):\n"
                "    try:\n        os.fork()\n        print('forked')\n"
                "    except PermissionError:\n        print('fork refused')\n"
                "try:\n    subprocess.run(['/bin/sh', '-c', 'true'])\n"
                "except PermissionError:\n    print('subprocess refused')\n")
    for level, lines in (("error", []), ("warning", [
            "lamina: denied: pid 2 (/usr/bin/python3.11 app.py) clone: the manifest sets "
            "sys.disallow_subprocesses = true"])):
        manifest = box.manifest(trusted=["app.py", "/bin/sh"],
                                extra=f'sys.disallow_subprocesses = true\n'
                                      f'loader.log_level = "{level}"\n')
        r = box.run(manifest, "app.py")
        assert (r.returncode, r.stdout) == (
            0, "thread ok\nfork refused\nfork refused\nsubprocess refused\n"), r.stderr
        assert [l for l in r.stderr.splitlines() if "disallow" in l] == lines


def test_nested_allowed_paths(box):
    (box.dir / "out").mkdir()
    (box.dir / "out" / "inner.txt").write_text("inner")
    if box.user == "nobody":
        for p in (box.dir / "out", box.dir / "out" / "inner.txt"):
            os.chown(p, NOBODY, NOBODY)
    script(box, "print(open('/out/inner.txt').read())\n"
                "open('/out/inner.txt', 'a').write(' and more')\n")
    # the file is listed before its directory: the binds must still nest
    r = box.run(box.manifest(trusted=["app.py"], allowed=["out/inner.txt", "out/"]), "app.py")
    assert (r.returncode, r.stdout) == (0, "inner\n"), r.stderr
    assert (box.dir / "out" / "inner.txt").read_text() == "inner and more"


def test_files_the_tmpfs_would_hide_are_refused(lamina_path, tmp_path):
    hidden = tmp_path / "hidden.py"
    hidden.write_text("print(1)\n")
    (tmp_path / "sub").mkdir()
    cases = [
        (f'sgx.trusted_files = ["file:{PY}", "file:{hidden}"]\n', 4,
         f"trusted file 'file:{hidden}' would be at '{hidden}'"),
        (f'sgx.trusted_files = ["file:{PY}"]\nsgx.allowed_files = ["file:{tmp_path}/sub/"]\n', 5,
         f"allowed path 'file:{tmp_path}/sub/' would be at '{tmp_path}/sub'"),
    ]
    for files, line, what in cases:
        manifest = tmp_path / "h.manifest"
        manifest.write_text(f'libos.entrypoint = "{PY}"\nloader.argv = ["python3", "{hidden}"]\n'
                            f'fs.root.uri = "file:/"\n{files}')
        r = subprocess.run([str(lamina_path), "run", "--store", str(tmp_path / "store"),
                            str(manifest)], capture_output=True, text=True, timeout=60)
        assert (r.returncode, r.stdout, r.stderr) == (
            125, "", f"{manifest}:{line}:1: {what} in the view, where lamina mounts an empty "
                     "tmpfs at '/tmp': keep it elsewhere\n")
