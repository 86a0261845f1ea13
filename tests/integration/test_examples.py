"""The examples' manifests: rendered from their templates by make, and valid. Each test works
on a copy of the example, so that the source tree stays clean."""
import shutil
import subprocess

from conftest import SOURCE_DIR

EXAMPLE = SOURCE_DIR / "examples" / "python-multiprocess"


def make(tmp_path, lamina_path, *args):
    work = tmp_path / "python-multiprocess"
    if not work.exists():
        shutil.copytree(EXAMPLE, work, ignore=shutil.ignore_patterns("*.manifest", ".debug-*"))
    return subprocess.run(["make", "--no-print-directory", f"LAMINA={lamina_path}", *args],
                          cwd=work, capture_output=True, text=True, timeout=120), work


def test_make_check_validates_every_manifest(tmp_path, lamina_path):
    r, work = make(tmp_path, lamina_path, "check")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-4:] == ["python3.11.manifest: valid",
                                          "python3.manifest: valid",
                                          "sh.manifest: valid",
                                          "python.manifest: valid"]
    assert r.stderr == ""


def test_graphene_and_gramine_forms(tmp_path, lamina_path, lamina):
    r, work = make(tmp_path, lamina_path)
    assert r.returncode == 0, r.stderr
    main = lamina("check", "python3.11.manifest", cwd=work).stdout.splitlines()
    assert main[0] == "# python3.11.manifest (legacy), resolved by lamina 0.1.0"
    assert 'libos.entrypoint = "/usr/bin/python3.11"' in main
    assert 'loader.log_level = "error"' in main
    assert f'    "file:{work}/scripts/",' in main
    one = lamina("check", "python.manifest", cwd=work).stdout.splitlines()
    assert one[0] == "# python.manifest (toml), resolved by lamina 0.1.0"
    assert '    "file:/usr/lib/python3.11/",' in one


def test_debug_renders_debug_level(tmp_path, lamina_path, lamina):
    r, work = make(tmp_path, lamina_path)
    assert r.returncode == 0, r.stderr
    r, work = make(tmp_path, lamina_path, "DEBUG=1")
    assert r.returncode == 0, r.stderr
    for manifest in ("python3.11.manifest", "sh.manifest", "python.manifest"):
        out = lamina("check", manifest, cwd=work).stdout.splitlines()
        assert 'loader.log_level = "debug"' in out, manifest


def test_make_clean(tmp_path, lamina_path):
    r, work = make(tmp_path, lamina_path)
    assert r.returncode == 0, r.stderr
    r, work = make(tmp_path, lamina_path, "clean")
    assert r.returncode == 0, r.stderr
    assert not list(work.glob("*.manifest"))
    assert not list(work.glob(".debug-*"))
