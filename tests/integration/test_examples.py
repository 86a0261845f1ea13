"""The examples, as their READMEs run them: make renders the manifests from their templates,
make check runs the program under lamina. Each test works on a copy of the example, so that
the source tree stays clean, with a store of its own."""
import shutil
import subprocess

from conftest import SOURCE_DIR

EXAMPLES = SOURCE_DIR / "examples"


def make(tmp_path, lamina_path, *args, example="python-multiprocess"):
    work = tmp_path / example
    if not work.exists():
        shutil.copytree(EXAMPLES / example, work,
                        ignore=shutil.ignore_patterns("*.manifest", "*.manifest.sgx", "*.sig",
                                                      "*.token", "enclave-key.pem", ".debug-*",
                                                      ".log-*", "pal_loader", "OUTPUT"))
    return subprocess.run(["make", "--no-print-directory", f"LAMINA={lamina_path}",
                           f"STORE={tmp_path / 'store'}", *args],
                          cwd=work, capture_output=True, text=True, timeout=300), work


def test_multiprocess_check_runs_the_seed_command(tmp_path, lamina_path):
    r, work = make(tmp_path, lamina_path, "check")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    for line in ("python3.11.manifest: valid", "python3.manifest: valid", "sh.manifest: valid",
                 "python.manifest: valid",
                 f"./pal_loader --store {tmp_path / 'store'} ./python3.11.manifest "
                 "scripts/callprocess.py > OUTPUT",
                 "helloworld", "exit code of child process: 0", "[ Success ]"):
        assert line in lines
    assert (work / "pal_loader").resolve() == lamina_path.resolve()
    assert r.stderr.splitlines() == [
        "lamina: warning: './python3.11.manifest' lists allowed files (sgx.allowed_files): "
        "they are not integrity-checked, and code in them may run",
        "lamina: warning: 7 trusted file(s) have no sha256 in the manifest: their hashes were "
        "taken now and pinned for this manifest"]


def test_multiprocess_check_with_debug(tmp_path, lamina_path):
    r, work = make(tmp_path, lamina_path, "DEBUG=1", "check")
    assert r.returncode == 0, r.stderr
    assert "exit code of child process: 0" in r.stdout.splitlines()


def test_simple_check(tmp_path, lamina_path):
    r, work = make(tmp_path, lamina_path, "check", example="python-simple")
    assert r.returncode == 0, r.stderr
    assert "[ Success ]" in r.stdout.splitlines()
    assert "allowed files" not in r.stderr


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


def test_multiprocess_sgx(tmp_path, lamina_path):
    r, work = make(tmp_path, lamina_path, "SGX=1", "check")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    for line in ("helloworld", "exit code of child process: 0", "[ Success ]"):
        assert line in lines
    assert r.stderr.splitlines()[0].startswith("lamina: SGX mode: signed manifest verified")
    for name in ("python3.manifest.sgx", "sh.manifest.sgx", "python3.11.manifest.sgx",
                 "python3.sig", "sh.sig", "python3.11.sig", "enclave-key.pem"):
        assert (work / name).exists(), name
    assert not list(work.glob("*.token"))
    # DEBUG=1: signed again (the log level is in the manifests), and denials explained
    r, work = make(tmp_path, lamina_path, "SGX=1", "DEBUG=1", "check")
    assert r.returncode == 0, r.stderr
    assert "exit code of child process: 0" in r.stdout.splitlines()
    assert any(line.startswith("lamina: denied: ") for line in r.stderr.splitlines())


def test_multiprocess_sgx_signers_chain(tmp_path, lamina_path):
    for args in (("SGX=1", "SIGNERS=1", "check"), ("SGX=1", "SIGNERS=1", "DEBUG=1", "check")):
        r, work = make(tmp_path, lamina_path, *args)
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        for line in ("helloworld", "exit code of child process: 0", "level 0: helloworld",
                     "level 1: exit code of child process: 0",
                     "level 2: exit code of child process: 0", "[ Success ]"):
            assert line in lines, (args, line)
        assert "trusted_children" not in (work / "sh.manifest").read_text()
