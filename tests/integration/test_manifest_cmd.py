"""`lamina manifest`: rendering templates with -D values, the environment and the Python
built-ins, and refusing bad templates without touching the output file."""
import os
import subprocess

import pytest

PYTHON = "/usr/bin/python3"


def python_paths(python=PYTHON):
    code = ("import sysconfig; p = sysconfig.get_paths(); "
            "print(p['stdlib']); print(p['platstdlib']); print(p['purelib']); "
            "print(sysconfig.get_path('stdlib', vars={'py_version_short': '3'}))")
    return subprocess.run([python, "-I", "-c", code], capture_output=True, text=True,
                          check=True).stdout.splitlines()


def test_renders_both_syntaxes(lamina, tmp_path):
    template = tmp_path / "app.manifest.template"
    template.write_text('libos.entrypoint = "{{ entrypoint }}"\n'
                        "loader.exec = file:$(PYTHONEXEC)\n"
                        'loader.env.HOME = "{{env.LAMINA_TEST_HOME}}"\n'
                        'arch = "{{ arch_libdir }}"\n')
    env = dict(os.environ, LAMINA_TEST_HOME="/home/x")
    r = lamina("manifest", "-D", "entrypoint=/usr/bin/python3", "-D",
               "PYTHONEXEC=/usr/bin/python3.11", template, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    assert r.stdout == ('libos.entrypoint = "/usr/bin/python3"\n'
                        "loader.exec = file:/usr/bin/python3.11\n"
                        'loader.env.HOME = "/home/x"\n'
                        'arch = "/lib/x86_64-linux-gnu"\n')


def test_python_builtins(lamina, tmp_path):
    template = tmp_path / "py.template"
    template.write_text("{{ python.exe }} {{ python.stdlib }} {{ python.platstdlib }} "
                        "{{ python.purelib }} {{ python.distlib }}\n")
    stdlib, platstdlib, purelib, distbase = python_paths()
    r = lamina("manifest", template)
    assert r.returncode == 0, r.stderr
    assert r.stdout == (f"{PYTHON} {stdlib} {platstdlib} {purelib} "
                        f"{distbase}/dist-packages\n")
    assert stdlib == "/usr/lib/python3.11"
    assert distbase == "/usr/lib/python3"


def test_python_is_chosen_with_define(lamina, tmp_path):
    template = tmp_path / "py.template"
    template.write_text("{{ python.exe }}\n")
    r = lamina("manifest", "-D", "python=/usr/bin/python3.11", template)
    assert (r.returncode, r.stdout) == (0, "/usr/bin/python3.11\n")


def test_python_that_cannot_run(lamina, tmp_path):
    template = tmp_path / "py.template"
    template.write_text("{{ python.stdlib }}\n")
    r = lamina("manifest", "-D", "python=/nonexistent/python3", template)
    assert r.returncode == 1
    assert r.stderr == ("lamina: cannot ask '/nonexistent/python3' for its paths: "
                        "No such file or directory\n")
    r = lamina("manifest", "-D", "python=/bin/false", template)
    assert r.returncode == 1
    assert r.stderr == ("lamina: cannot ask '/bin/false' for its paths: "
                        "it did not answer as a Python 3 interpreter\n")


def test_writes_output_file(lamina, tmp_path):
    template = tmp_path / "t.template"
    template.write_text("a = $(X)\n")
    out = tmp_path / "t.manifest"
    r = lamina("manifest", "-D", "X=1", "-D", "X=2", template, out)
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    assert out.read_text() == "a = 2\n"  # the last -D wins, as in make
    assert oct(out.stat().st_mode & 0o777) == "0o644"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.manifest", "t.template"]


@pytest.mark.parametrize("text,message", [
    ("a = 1\nb = {{ nope }}\n", "t.template:2:5: undefined name 'nope'"),
    ("x = $(NOPE)\n", "t.template:1:5: undefined name 'NOPE'"),
    ("x = {{ env.LAMINA_SURELY_UNSET }}\n", "t.template:1:5: undefined name 'env.LAMINA_SURELY_UNSET'"),
    ("x = {{ python.nothing }}\n", "t.template:1:5: undefined name 'python.nothing'"),
    ("{% for x in y %}\n", None),
    ("x = {{ a\n", "t.template:1:5: unterminated '{{'"),
])
def test_bad_template_changes_nothing(lamina, tmp_path, text, message):
    template = tmp_path / "t.template"
    template.write_text(text)
    out = tmp_path / "t.manifest"
    out.write_text("old\n")
    r = lamina("manifest", "-D", "a=1", template.name, out.name, cwd=tmp_path)
    assert r.returncode == 1
    assert r.stdout == ""
    lines = r.stderr.splitlines()
    assert len(lines) == 1
    if message:
        assert lines[0] == message
    else:
        assert lines[0].startswith("t.template:1:1: ")
    assert out.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.manifest", "t.template"]


def test_usage_errors(lamina, tmp_path):
    r = lamina("manifest")
    assert r.returncode == 2
    assert r.stderr == "lamina: usage: lamina manifest [-D NAME=VALUE]... TEMPLATE [OUTPUT]\n"
    r = lamina("manifest", "-D", "novalue", "t")
    assert r.returncode == 2
    assert r.stderr == "lamina: -D needs NAME=VALUE, not 'novalue'\n"
    r = lamina("manifest", tmp_path / "missing.template")
    assert r.returncode == 1
    assert r.stderr == (f"lamina: cannot read template '{tmp_path}/missing.template': "
                        "No such file or directory\n")
