"""lamina's command line: help, version, exit codes, and `lamina check` on good and bad
manifests, run as a user runs them."""
import json
import os

import pytest

ENTRY = 'libos.entrypoint = "/bin/sh"\n'


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_help_lists_commands_and_exit_codes(lamina):
    r = lamina("--help")
    assert r.returncode == 0
    assert r.stderr == ""
    for line in ("  check [--format toml|legacy] [--json|--quiet] MANIFEST",
                 "  manifest [-D NAME=VALUE]... TEMPLATE [OUTPUT]",
                 "  0  success",
                 "  1  the input (manifest, template, key, signature) has an error; nothing done",
                 "  2  wrong command line",
                 "  3  lamina failed (I/O error, out of memory, ...)",
                 "  gen-key [PATH]",
                 "  sigview [--json] X.sig     Print every field of a signature.",
                 "  measure X.manifest.sgx     Print a signed manifest's measurement.",
                 "  120  SGX mode: no signed manifest, or no .sig for it",
                 "  121  SGX mode: a .sig that is malformed or whose signature does not verify",
                 "  122  SGX mode: the manifest is not the one its .sig signed",
                 "  123  SGX mode: a trusted file without a sha256",
                 "  124  a child manifest beside it that does not load or, in SGX mode, verify"):
        assert line in r.stdout.splitlines()


def test_version(lamina):
    r = lamina("--version")
    assert (r.returncode, r.stdout) == (0, "lamina 0.1.0\n")


def test_unknown_command(lamina):
    r = lamina("chek", "x")
    assert r.returncode == 2
    assert r.stderr == "lamina: unknown command 'chek'; see 'lamina --help'\n"


def test_no_command(lamina):
    r = lamina()
    assert r.returncode == 2
    assert r.stderr.startswith("Usage: lamina")


def test_check_prints_resolved_model(lamina, tmp_path):
    path = write(tmp_path, "app.manifest", ENTRY + 'sgx.trusted_files = ["file:app.py"]\n')
    r = lamina("check", path.name, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    lines = r.stdout.splitlines()
    assert lines[0] == "# app.manifest (toml), resolved by lamina 0.1.0"
    assert 'libos.entrypoint = "/bin/sh"' in lines
    assert f'    "file:{tmp_path}/app.py",' in lines
    assert 'loader.log_level = "error"' in lines
    assert 'sgx.enclave_size = "256M"' in lines


def test_check_output_reads_back(lamina, tmp_path):
    path = write(tmp_path, "app.manifest",
                 ENTRY + 'loader.env.A = "x\\ty"\nloader.env.HOME = { passthrough = true }\n'
                 'fs.mounts = [{ type = "tmpfs", path = "/tmp" }]\n')
    first = lamina("check", path)
    assert first.returncode == 0, first.stderr
    again = write(tmp_path, "again.manifest", first.stdout)
    second = lamina("check", "--json", again)
    assert second.returncode == 0, second.stderr
    assert second.stdout == lamina("check", "--json", path).stdout


def test_check_json(lamina, tmp_path):
    path = write(tmp_path, "app.manifest", ENTRY + "sgx.debug = true\n")
    r = lamina("check", "--json", path)
    assert r.returncode == 0, r.stderr
    model = json.loads(r.stdout)
    assert model["libos"]["entrypoint"] == "/bin/sh"
    assert model["sgx"]["debug"] is True
    assert model["sgx"]["max_threads"] == 4
    assert model["fs"]["root"]["uri"] == f"file:{os.getcwd()}"


@pytest.mark.parametrize("text,message", [
    (ENTRY + "sgx.debgu = true\n",
     "app.manifest:2:5: unknown key 'sgx.debgu'; did you mean 'sgx.debug'?"),
    ('libos.entrypoint = "/bin/sh"\nlibos.entrypoint = "/bin/sh"\n',
     "app.manifest:2:7: duplicate key 'libos.entrypoint' (first defined at line 1)"),
    (ENTRY + 'sgx.trusted_files = ["file:/a"]\nsgx.allowed_files = ["file:/a"]\n',
     "app.manifest:3:1: 'file:/a' is both trusted (line 2) and allowed: "
     "a file is either checked or not"),
    ("loader.exec = file:/bin/sh\nsgx.trusted_checksum.sh = 00\n",
     "app.manifest:2:1: 'sgx.trusted_checksum.sh' has no matching 'sgx.trusted_files.sh'"),
])
def test_check_refuses_bad_manifest(lamina, tmp_path, text, message):
    write(tmp_path, "app.manifest", text)
    r = lamina("check", "app.manifest", cwd=tmp_path)
    assert r.returncode == 1
    assert r.stdout == ""
    lines = r.stderr.splitlines()
    assert lines == [message]


def test_check_missing_file(lamina, tmp_path):
    r = lamina("check", tmp_path / "none.manifest")
    assert r.returncode == 1
    assert r.stderr == f"{tmp_path}/none.manifest: cannot open: No such file or directory\n"


def test_check_directory(lamina, tmp_path):
    r = lamina("check", tmp_path)
    assert r.returncode == 1
    assert r.stderr == f"{tmp_path}: cannot read: Is a directory\n"


def test_check_usage(lamina, tmp_path):
    r = lamina("check")
    assert r.returncode == 2
    assert r.stderr == "lamina: usage: lamina check [--format toml|legacy] [--json|--quiet] MANIFEST\n"
    r = lamina("check", "--format", "yaml", "x")
    assert r.returncode == 2
    assert r.stderr == "lamina: --format must be 'toml', 'legacy' or 'auto', not 'yaml'\n"


def test_legacy_warnings_go_to_stderr_only(lamina, tmp_path):
    path = write(tmp_path, "sh.manifest",
                 "loader.preload = file:libsysdb.so\nloader.exec = file:/bin/sh\n")
    r = lamina("check", path.name, cwd=tmp_path)
    assert r.returncode == 0
    assert r.stderr == ("sh.manifest:1:1: warning: 'loader.preload' is ignored: "
                        "lamina needs no preloaded library OS\n")
    assert "preload" not in r.stdout
    assert r.stdout.splitlines()[0] == "# sh.manifest (legacy), resolved by lamina 0.1.0"


def test_format_is_forced(lamina, tmp_path):
    path = write(tmp_path, "app.manifest", ENTRY + 'sgx.trusted_files = ["file:/a"]\n')
    assert lamina("check", path.name, cwd=tmp_path).returncode == 0
    r = lamina("check", "--format", "legacy", path.name, cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr == ("app.manifest:2:21: 'sgx.trusted_files' must be an array, "
                        "not a string\n")


def test_check_quiet(lamina, tmp_path):
    path = write(tmp_path, "app.manifest", ENTRY)
    r = lamina("check", "--quiet", path)
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    r = lamina("check", "--quiet", "--json", path)
    assert (r.returncode, r.stderr) == (2, "lamina: --json and --quiet conflict: choose one\n")
    path = write(tmp_path, "bad.manifest", "sgx.debug = true\n")
    r = lamina("check", "--quiet", path)
    assert r.returncode == 1
    assert r.stderr == (f"{path}: 'libos.entrypoint' is required: the program to run, such as "
                        'libos.entrypoint = "/usr/bin/python3"\n')


def test_run_usage_errors(lamina, tmp_path):
    r = lamina("run")
    assert (r.returncode, r.stderr) == (
        2, "lamina: usage: lamina run [--sgx] [--store DIR] [--log-level LEVEL] "
        "[--format toml|legacy] MANIFEST [ARGS...]\n")
    r = lamina("run", "--log-level", "loud", "x.manifest")
    assert (r.returncode, r.stderr) == (
        2, "lamina: --log-level must be one of none, error, warning, debug, trace, all; "
           "not 'loud'\n")
    r = lamina("run", "--format", "yaml", "x.manifest")
    assert (r.returncode, r.stderr) == (
        2, "lamina: --format must be 'toml', 'legacy' or 'auto', not 'yaml'\n")
    r = lamina("store", "list")
    assert (r.returncode, r.stderr) == (2, "lamina: usage: lamina store ls|gc [--store DIR]\n")


def test_run_refuses_a_bad_manifest(lamina, tmp_path):
    write(tmp_path, "bad.manifest", ENTRY + "sgx.debgu = true\n")
    r = lamina("run", "--store", tmp_path / "store", "bad.manifest", cwd=tmp_path)
    assert r.returncode == 125
    assert r.stderr == "bad.manifest:2:5: unknown key 'sgx.debgu'; did you mean 'sgx.debug'?\n"
    assert not (tmp_path / "store").exists()


def test_run_refuses_a_store_others_may_write(lamina, tmp_path):
    write(tmp_path, "app.manifest", ENTRY)
    store = tmp_path / "store"
    store.mkdir()
    store.chmod(0o777)
    r = lamina("run", "--store", store, "app.manifest", cwd=tmp_path)
    assert r.returncode == 125
    assert r.stderr == (f"lamina: cannot use the store '{store}': it must belong to you and be "
                        "writable by no one else (chmod 0700)\n")


def test_run_refuses_what_the_view_cannot_have(lamina, tmp_path):
    write(tmp_path, "missing.manifest", ENTRY + 'sgx.allowed_files = ["file:nothere/"]\n')
    r = lamina("run", "--store", tmp_path / "store", "missing.manifest", cwd=tmp_path)
    assert r.returncode == 125
    assert r.stderr == (f"missing.manifest:2:1: allowed path '{tmp_path}/nothere' "
                        "(file:nothere/): No such file or directory\n")
    write(tmp_path, "enc.manifest",
          ENTRY + 'fs.mounts = [{ type = "encrypted", path = "/enc", uri = "file:enc" }]\n')
    r = lamina("run", "--store", tmp_path / "store", "enc.manifest", cwd=tmp_path)
    assert r.returncode == 125
    assert r.stderr == "enc.manifest:2:1: encrypted mounts ('/enc') are not supported yet\n"
