"""lamina trace: a program traced once, then run under lamina run from the manifest the trace
wrote, with no edit, must print what it prints natively. Each test works in a directory under
/var/tmp (lamina run gives programs an empty /tmp, so lamina trace refuses to work there)."""
import os
import pathlib
import re
import shutil
import subprocess
import tempfile

import pytest

from conftest import SOURCE_DIR

PY = "/usr/bin/python3"
NOBODY = 65534
# The environment of the program, traced or not: the host's PATH could lead to other Pythons.
ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}


@pytest.fixture
def work():
    """The program's directory; its store and logs go beside it, so that the program, which
    may list its directory, sees the same files traced, run natively and run under lamina."""
    base = pathlib.Path(tempfile.mkdtemp(prefix="lamina-trace-", dir="/var/tmp"))
    (base / "work").mkdir()
    yield base / "work"
    shutil.rmtree(base, ignore_errors=True)


def native(work, *argv, prefix=()):
    return subprocess.run([*prefix, *argv], cwd=work, env=ENV, capture_output=True, text=True, timeout=120)


def trace(lamina_path, work, *args, prefix=()):
    return subprocess.run([*prefix, str(lamina_path), "trace", *map(str, args)], cwd=work, env=ENV,
                          capture_output=True, text=True, timeout=300)


def run(lamina_path, work, manifest, *args, prefix=()):
    return subprocess.run([*prefix, str(lamina_path), "run", "--store", str(work.parent / "store"), manifest,
                           *args], cwd=work, capture_output=True, text=True, timeout=300)


def entries(text, key):
    """The file: URIs of one key of a generated TOML manifest, in order."""
    block = re.search(rf"^{re.escape(key)} = \[\n(.*?)^\]", text, re.S | re.M)
    return re.findall(r'"file:([^"]*)"', block.group(1)) if block else []


def same_as_native(lamina_path, work, *argv, prefix=()):
    """Traces argv, runs the manifest it wrote, and checks both print what argv prints."""
    want = native(work, *argv, prefix=prefix)
    assert want.returncode == 0, want.stderr
    t = trace(lamina_path, work, "-o", "traced.manifest", "--log", work.parent / "trace.log", "--",
              *argv, prefix=prefix)
    assert (t.returncode, t.stdout) == (0, want.stdout), t.stderr
    manifest = (work / "traced.manifest").read_text()
    r = run(lamina_path, work, "traced.manifest", prefix=prefix)
    assert (r.returncode, r.stdout) == (0, want.stdout), r.stderr
    log = (work.parent / "trace.log").read_text()
    # every entry, and every directory made to exist, was used by the run: it is in its log
    used = {line.split(" ", 2)[1].rstrip("/") for line in log.splitlines()}
    mounts = re.findall(r'path = "([^"]*)"', manifest)
    for path in entries(manifest, "sgx.trusted_files") + mounts:
        assert path.rstrip("/") in used, path
    return manifest, log


def as_nobody(work):
    """Hands the test's directories to nobody; returns the command prefix that becomes it."""
    for path in (work.parent, *work.parent.rglob("*")):
        os.chown(path, NOBODY, NOBODY)
    return ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]


@pytest.mark.parametrize("user", ["root", "nobody"])
def test_callprocess_chain(lamina_path, work, user):
    scripts = SOURCE_DIR / "examples" / "python-multiprocess" / "scripts"
    shutil.copytree(scripts, work / "scripts")
    prefix = as_nobody(work) if user == "nobody" else []
    manifest, _ = same_as_native(lamina_path, work, PY, "scripts/callprocess.py",
                                   prefix=prefix)
    trusted = entries(manifest, "sgx.trusted_files")
    for path in ("/usr/bin/python3", "/bin/sh", f"{work}/scripts/callprocess.py",
                 f"{work}/scripts/helloworld.py", "/lib64/ld-linux-x86-64.so.2"):
        assert path in trusted, path
    assert entries(manifest, "sgx.allowed_files") == []


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_pool_with_each_start_method(lamina_path, work, method):
    (work / "pool.py").write_text(
        "import multiprocessing as mp\n"
        "def square(x):\n    return x * x\n"
        "if __name__ == '__main__':\n"
        f"    mp.set_start_method('{method}')\n"
        "    with mp.Pool(4) as pool:\n"
        "        print(sum(pool.map(square, range(100))))\n")
    manifest, _ = same_as_native(lamina_path, work, PY, "pool.py")
    assert entries(manifest, "sgx.allowed_files") == []


def test_shell_pipeline(lamina_path, work):
    (work / "count.py").write_text(
        "import subprocess\n"
        "print(subprocess.run(\"sh -c 'ls | wc -l'\", shell=True, capture_output=True,\n"
        "                     text=True).stdout.strip())\n")
    manifest, _ = same_as_native(lamina_path, work, PY, "count.py")
    trusted = entries(manifest, "sgx.trusted_files")
    assert "/usr/bin/ls" in trusted and "/usr/bin/wc" in trusted


def test_sqlite_ssl_ctypes_dlopen(lamina_path, work):
    (work / "libs.py").write_text(
        "import ctypes, ctypes.util, sqlite3, ssl\n"
        "db = sqlite3.connect(':memory:')\n"
        "print(db.execute('select 6 * 7').fetchone()[0])\n"
        "print(ssl.OPENSSL_VERSION.split()[0])\n"
        "libm = ctypes.CDLL('libm.so.6')\n"
        "libm.cos.restype = ctypes.c_double\n"
        "libm.cos.argtypes = [ctypes.c_double]\n"
        "print(libm.cos(0.0))\n")
    manifest, _ = same_as_native(lamina_path, work, PY, "libs.py")
    trusted = entries(manifest, "sgx.trusted_files")
    assert any(p.endswith("/libm.so.6") for p in trusted)
    assert any("_sqlite3" in p for p in trusted) and any("_ssl" in p for p in trusted)
    assert entries(manifest, "sgx.allowed_files") == []


def test_written_files_are_allowed(lamina_path, work):
    (work / "out.txt").write_text("old\n")
    (work / "write.py").write_text(
        "with open('out.txt', 'a') as f:\n    f.write('more\\n')\n"
        "print(open('out.txt').read().count('\\n'))\n")
    want = native(work, PY, "write.py")
    assert want.stdout == "2\n"
    t = trace(lamina_path, work, "-o", "traced.manifest", "--", PY, "write.py")
    assert (t.returncode, t.stdout) == (0, "3\n"), t.stderr
    manifest = (work / "traced.manifest").read_text()
    assert entries(manifest, "sgx.allowed_files") == [f"{work}/out.txt"]
    assert f"{work}/out.txt" not in entries(manifest, "sgx.trusted_files")
    r = run(lamina_path, work, "traced.manifest")
    assert (r.returncode, r.stdout) == (0, "4\n"), r.stderr


def test_against_names_the_missing_and_the_unused(lamina_path, work):
    (work / "app.py").write_text("print(open('data.txt').read())\n")
    (work / "data.txt").write_text("data")
    (work / "unused.txt").write_text("never read")
    t = trace(lamina_path, work, "-o", "full.manifest", "--", PY, "app.py")
    assert t.returncode == 0, t.stderr
    text = (work / "full.manifest").read_text()
    # one entry taken away, one added
    lines = [line for line in text.splitlines() if f'"file:{work}/data.txt"' not in line]
    lines.insert(lines.index("sgx.trusted_files = [") + 1,
                 f'  "file:{work}/unused.txt",')
    (work / "edited.manifest").write_text("\n".join(lines) + "\n")
    t = trace(lamina_path, work, "--against", "edited.manifest", "-o", work.parent / "diff",
              "--", PY, "app.py")
    assert (t.returncode, t.stdout) == (0, "data\n"), t.stderr
    diff = (work.parent / "diff").read_text()
    body = [line for line in diff.splitlines() if not line.startswith("# ") or "sgx." in line]
    assert len(body) == 2, diff
    assert body[0].startswith(f'sgx.trusted_files = ["file:{work}/data.txt"] # ')
    assert body[1] == f'# sgx.trusted_files: "file:{work}/unused.txt"'


def test_refuses_a_directory_under_tmp(lamina_path, tmp_path):
    r = subprocess.run([str(lamina_path), "trace", "--", "/bin/true"], cwd=tmp_path,
                       capture_output=True, text=True)
    assert (r.returncode, r.stderr) == (
        1, f"lamina: the working directory '{tmp_path}' is one that lamina run replaces (/tmp, "
           "/dev/shm, /proc, /dev): trace from a directory elsewhere\n")


def test_program_not_found_and_usage(lamina_path, work):
    r = trace(lamina_path, work, "--", "no-such-program-anywhere")
    assert (r.returncode, r.stderr) == (
        127, "lamina: cannot find the program 'no-such-program-anywhere': No such file or "
             "directory\n")
    r = trace(lamina_path, work)
    assert (r.returncode, r.stderr) == (
        2, "lamina: usage: lamina trace [-o OUT] [--format toml|legacy] [--template] [--dirs] "
           "[--against MANIFEST] [--log FILE] -- PROGRAM [ARGS...]\n")


def test_graphene_form_and_template(lamina_path, work):
    (work / "app.py").write_text("import json\nprint(json.dumps({'a': 1}))\n")
    t = trace(lamina_path, work, "--format", "legacy", "-o", "legacy.manifest", "--", PY,
              "app.py")
    assert (t.returncode, t.stdout) == (0, '{"a": 1}\n'), t.stderr
    text = (work / "legacy.manifest").read_text()
    assert 'loader.exec = "file:/usr/bin/python3"\n' in text
    assert "loader.insecure__use_cmdline_argv = 1\n" in text
    # Graphene's language has no loader.argv: the arguments follow the manifest, as there
    r = run(lamina_path, work, "legacy.manifest", "app.py")
    assert (r.returncode, r.stdout) == (0, '{"a": 1}\n'), r.stderr

    t = trace(lamina_path, work, "--template", "-o", "app.manifest.template", "--", PY, "app.py")
    assert t.returncode == 0, t.stderr
    template = (work / "app.manifest.template").read_text()
    assert '"file:{{ python.stdlib }}/json/__init__.py"' in template
    r = subprocess.run([str(lamina_path), "manifest", "app.manifest.template", "app.manifest"],
                       cwd=work, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = run(lamina_path, work, "app.manifest")
    assert (r.returncode, r.stdout) == (0, '{"a": 1}\n'), r.stderr
