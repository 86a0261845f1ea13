"""Graphene's SGX flow under lamina: gen-key, sign, sigview, measure, and SGX mode's refusals,
each with its message and exit code; child manifests trusted by measurement or by signer."""
import hashlib
import json
import os
import pathlib
import shutil
import stat
import subprocess

import pytest

PY = "/usr/bin/python3.11"
LIBS = ["/lib64/ld-linux-x86-64.so.2"] + [f"/lib/x86_64-linux-gnu/{lib}" for lib in (
    "libc.so.6", "libm.so.6", "libz.so.1", "libexpat.so.1")]
DATE = "2026-12-01"


@pytest.fixture(scope="module")
def key(tmp_path_factory, lamina_path):
    path = tmp_path_factory.mktemp("keys") / "enclave-key.pem"
    r = subprocess.run([lamina_path, "gen-key", path], capture_output=True, text=True)
    assert (r.returncode, r.stdout, r.stderr) == (0, f"{path}\n", ""), r.stderr
    return path


def write(directory, name, text):
    path = directory / name
    path.write_text(text)
    return path


def python_manifest(directory, name="app.manifest", extra="", trusted=("app.py",)):
    entries = ", ".join(f'"file:{x}"' for x in (*trusted, PY, *LIBS))
    return write(directory, name,
                 f'libos.entrypoint = "{PY}"\nloader.insecure__use_cmdline_argv = true\n'
                 f'sgx.trusted_files = [{entries}]\n'
                 f'sgx.allowed_files = ["file:/usr/lib/python3.11/"]\n{extra}')


def sign(lamina, directory, key, manifest, output=None, *extra):
    output = output or f"{manifest}.sgx"
    return lamina("sign", "--key", key, "--manifest", manifest, "--output", output,
                  "--date", DATE, *extra, cwd=directory)


def run_sgx(lamina_path, directory, manifest, *args, store):
    env = dict(os.environ, SGX="1")
    return subprocess.run([lamina_path, "run", "--store", store, manifest, *args], cwd=directory,
                          env=env, capture_output=True, text=True, timeout=120)


def test_gen_key(lamina, tmp_path):
    path = tmp_path / "k" / "key.pem"
    r = lamina("gen-key", path)
    assert (r.returncode, r.stdout) == (0, f"{path}\n"), r.stderr
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().startswith("-----BEGIN PRIVATE KEY-----\n")
    before = path.read_bytes()
    r = lamina("gen-key", path)
    assert r.returncode == 1
    assert r.stderr == f"lamina: '{path}' exists: lamina gen-key does not overwrite a key\n"
    assert path.read_bytes() == before


def test_gen_key_default_path(lamina, tmp_path):
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "config"))
    r = lamina("gen-key", env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"{tmp_path}/config/lamina/enclave-key.pem\n"


def test_sign_is_deterministic_and_measured(lamina, tmp_path, key):
    write(tmp_path, "app.py", "print('hi')\n")
    manifest = python_manifest(tmp_path)
    r = sign(lamina, tmp_path, key, manifest.name)
    assert r.returncode == 0, r.stderr
    first = (tmp_path / "app.manifest.sgx").read_bytes(), (tmp_path / "app.sig").read_bytes()
    assert sign(lamina, tmp_path, key, manifest.name).returncode == 0
    assert ((tmp_path / "app.manifest.sgx").read_bytes(), (tmp_path / "app.sig").read_bytes()) \
        == first
    measurement = hashlib.sha256(first[0]).hexdigest()
    assert r.stdout.splitlines()[0].endswith(f"; measurement {measurement}")
    assert lamina("measure", "app.manifest.sgx", cwd=tmp_path).stdout == measurement + "\n"
    view = json.loads(lamina("sigview", "--json", "app.sig", cwd=tmp_path).stdout)
    assert view["measurement"] == measurement
    assert view["date"] == DATE
    assert view["exponent"] == 3
    assert view["signature_valid"] is True
    assert view["signer"] == hashlib.sha256(bytes.fromhex(view["modulus"])).hexdigest()
    assert len(first[1]) == 864 and first[1][:8] == b"LAMINSIG"
    text = first[0].decode()
    assert text.startswith("# Signed manifest made by lamina sign from 'app.manifest'")
    sha = hashlib.sha256((tmp_path / "app.py").read_bytes()).hexdigest()
    assert f'{{ uri = "file:app.py", sha256 = "{sha}" }},' in text.splitlines()[-30:] or \
        f'    {{ uri = "file:app.py", sha256 = "{sha}" }},' in text.splitlines()


def test_sign_legacy_adds_checksums(lamina, tmp_path, key):
    write(tmp_path, "app.py", "print('hi')\n")
    (tmp_path / "lib").mkdir()
    write(tmp_path / "lib", "a.py", "A = 1\n")
    write(tmp_path / "lib", "b.py", "B = 2\n")
    write(tmp_path, "legacy.manifest",
          f"loader.exec = file:{PY}\nsgx.trusted_files.app = file:app.py\n"
          "sgx.trusted_files.lib = file:lib/\n")
    r = sign(lamina, tmp_path, key, "legacy.manifest")
    assert r.returncode == 0, r.stderr
    lines = (tmp_path / "legacy.manifest.sgx").read_text().splitlines()
    digest = lambda p: hashlib.sha256((tmp_path / p).read_bytes()).hexdigest()
    assert lines[3:] == [
        f"loader.exec = file:{PY}",
        "sgx.trusted_files.app = file:app.py",
        "# replaced by lamina sign: sgx.trusted_files.lib = file:lib/",
        "",
        "# lamina sign",
        f"sgx.trusted_checksum.app = {digest('app.py')}",
        'sgx.trusted_files.lib.0001 = "file:lib/a.py"',
        f"sgx.trusted_checksum.lib.0001 = {digest('lib/a.py')}",
        'sgx.trusted_files.lib.0002 = "file:lib/b.py"',
        f"sgx.trusted_checksum.lib.0002 = {digest('lib/b.py')}",
    ]
    r = lamina("check", "legacy.manifest.sgx", cwd=tmp_path)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("bits,exponent,message", [
    (2048, 3, "is RSA-2048; lamina signs with RSA-3072 keys with public exponent 3"),
    (3072, 65537, "is RSA-3072 with public exponent 65537; lamina signs with RSA-3072 keys "
                  "with public exponent 3"),
])
def test_sign_refuses_other_keys(lamina, tmp_path, bits, exponent, message):
    path = tmp_path / "other.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                    f"rsa_keygen_bits:{bits}", "-pkeyopt", f"rsa_keygen_pubexp:{exponent}",
                    "-out", path], check=True, capture_output=True)
    path.chmod(0o600)
    write(tmp_path, "app.py", "print('hi')\n")
    python_manifest(tmp_path)
    r = sign(lamina, tmp_path, path, "app.manifest")
    assert r.returncode == 1
    assert r.stderr == f"lamina: key '{path}' {message}\n"
    assert not (tmp_path / "app.manifest.sgx").exists()


def test_sign_refuses_a_key_others_may_read(lamina, tmp_path, key):
    path = tmp_path / "open.pem"
    shutil.copy(key, path)
    path.chmod(0o644)
    write(tmp_path, "app.py", "print('hi')\n")
    python_manifest(tmp_path)
    r = sign(lamina, tmp_path, path, "app.manifest")
    assert r.returncode == 1
    assert r.stderr == (f"lamina: key file '{path}' may be read by others (mode 0644): "
                        "chmod 600 it\n")


def test_sign_refuses_a_changed_pinned_file(lamina, tmp_path, key):
    app = write(tmp_path, "app.py", "print('hi')\n")
    pinned = hashlib.sha256(b"something else").hexdigest()
    write(tmp_path, "app.manifest", f'libos.entrypoint = "{PY}"\n'
                                    f'sgx.trusted_files = [{{ uri = "file:app.py", '
                                    f'sha256 = "{pinned}" }}]\n')
    r = sign(lamina, tmp_path, key, "app.manifest")
    assert r.returncode == 1
    actual = hashlib.sha256(app.read_bytes()).hexdigest()
    assert r.stderr.splitlines()[-1].endswith(
        f": '{app}' does not match its sha256 in the manifest: expected {pinned}, the file "
        f"has {actual}")


@pytest.fixture
def signed(lamina, tmp_path, key):
    write(tmp_path, "app.py", "print('verified')\n")
    python_manifest(tmp_path)
    r = sign(lamina, tmp_path, key, "app.manifest")
    assert r.returncode == 0, r.stderr
    return tmp_path


def test_sgx_mode_runs_a_verified_manifest(signed, lamina_path, tmp_path):
    r = run_sgx(lamina_path, signed, "app.manifest", "app.py", store=tmp_path / "store")
    assert (r.returncode, r.stdout) == (0, "verified\n"), r.stderr
    measurement = hashlib.sha256((signed / "app.manifest.sgx").read_bytes()).hexdigest()
    lines = r.stderr.splitlines()
    assert lines[0].startswith(f"lamina: SGX mode: signed manifest verified (measurement "
                               f"{measurement}, signer ")
    assert lines[0].endswith("); no hardware enclave: memory is not protected from the host")


def test_a_launch_token_is_ignored(signed, lamina_path, tmp_path):
    (signed / "app.token").write_bytes(b"\0" * 304)  # Graphene's size; any bytes will do
    env = dict(os.environ, SGX="1")
    r = subprocess.run([lamina_path, "run", "--store", tmp_path / "store", "--log-level", "debug",
                        "app.manifest", "app.py"], cwd=signed, env=env, capture_output=True,
                       text=True, timeout=120)
    assert (r.returncode, r.stdout) == (0, "verified\n"), r.stderr
    assert r.stderr.splitlines()[0].endswith(
        " check_signed: ignoring 'app.token': lamina needs no launch token")
    (signed / "app.token").unlink()


def test_sgx_mode_refusals(signed, lamina_path, tmp_path, key):
    store = tmp_path / "store"
    sgx = signed / "app.manifest.sgx"
    sig = signed / "app.sig"
    good_sgx, good_sig = sgx.read_bytes(), sig.read_bytes()

    # one changed byte in the manifest.sgx
    sgx.write_bytes(good_sgx.replace(b"/usr/lib/python3.11/", b"/usr/lib/python3.11//"))
    r = run_sgx(lamina_path, signed, "app.manifest", "app.py", store=store)
    assert r.returncode == 122
    assert r.stderr.startswith("lamina: 'app.manifest.sgx' is not the manifest that "
                               "'app.sig' signed: its measurement is ")
    assert r.stdout == ""
    sgx.write_bytes(good_sgx)

    # one changed byte in the .sig: in the signature, then in the signed part
    for offset, code, start in ((700, 121, "lamina: 'app.sig': the signature does not verify "
                                           "against the key it names"),
                                (20, 121, "lamina: 'app.sig': the signature does not verify "
                                          "against the key it names")):
        bad = bytearray(good_sig)
        bad[offset] ^= 1
        sig.write_bytes(bytes(bad))
        r = run_sgx(lamina_path, signed, "app.manifest", "app.py", store=store)
        assert (r.returncode, r.stderr) == (code, start + "\n")
    sig.write_bytes(good_sig[:100])
    r = run_sgx(lamina_path, signed, "app.manifest", "app.py", store=store)
    assert r.returncode == 121
    assert r.stderr.startswith("lamina: 'app.sig' is not a valid signature: ")
    sig.unlink()
    r = run_sgx(lamina_path, signed, "app.manifest", "app.py", store=store)
    assert (r.returncode, r.stderr) == (
        120, "lamina: 'app.manifest.sgx' has no signature 'app.sig': sign it with lamina "
             "sign\n")
    sig.write_bytes(good_sig)

    # one changed byte in a trusted file
    (signed / "app.py").write_text("print('Verified')\n")
    r = run_sgx(lamina_path, signed, "app.manifest", "app.py", store=store)
    assert r.returncode == 126
    assert "does not match its hash" in r.stderr.splitlines()[-1]
    assert r.stdout == ""

    # no signed manifest at all
    r = run_sgx(lamina_path, signed, "other.manifest", store=store)
    assert (r.returncode, r.stderr) == (
        120, "lamina: SGX mode needs the signed manifest 'other.manifest.sgx': make it with "
             "lamina sign\n")


def test_outside_sgx_mode_a_signed_manifest_is_used(signed, lamina_path, tmp_path):
    (signed / "app.py").write_text("print('edited')\n")
    r = subprocess.run([lamina_path, "run", "--store", tmp_path / "store", "app.manifest",
                        "app.py"], cwd=signed, capture_output=True, text=True)
    assert r.returncode == 126  # the signed manifest's hash applies, no trust on first use
    assert "does not match its hash" in r.stderr.splitlines()[-1]


def test_an_edit_not_signed_again_is_named(signed, lamina_path, tmp_path):
    manifest = signed / "app.manifest"
    manifest.write_text(manifest.read_text() + 'loader.env.EDITED = "1"\n')
    later = (signed / "app.manifest.sgx").stat().st_mtime_ns + 1_000_000_000
    os.utime(manifest, ns=(later, later))
    for env in ({}, {"SGX": "1"}):
        r = subprocess.run([lamina_path, "run", "--store", tmp_path / "store", "app.manifest",
                            "app.py"], cwd=signed, capture_output=True, text=True,
                           env=dict(os.environ, **env))
        assert (r.returncode, r.stdout) == (0, "verified\n"), r.stderr
        assert ("lamina: warning: 'app.manifest' changed after 'app.manifest.sgx' was signed: "
                "running the signed one; sign it again to run the change"
                in r.stderr.splitlines())


def sh_manifests(tmp_path, trust_python3, python3_trusts=""):
    shell = ", ".join(f'"file:{x}"' for x in ("/bin/sh", "/usr/bin/dash", "/usr/bin/python3",
                                              PY, *LIBS))
    write(tmp_path, "sh.manifest", f'libos.entrypoint = "/bin/sh"\n'
                                   f'loader.insecure__use_cmdline_argv = true\n'
                                   f'sgx.trusted_files = [{shell}]\n{trust_python3}')
    python_manifest(tmp_path, "python3.manifest", trusted=("chain.py",), extra=python3_trusts)
    python_manifest(tmp_path, "main.manifest",
                    trusted=("chain.py", "/bin/sh", "/usr/bin/dash"),
                    extra='loader.env.PATH = "/usr/bin:/bin"\n' + (
                        'sgx.trusted_children = ["file:sh.sig"]\n' if not python3_trusts
                        else python3_trusts))
    write(tmp_path, "chain.py",
          "import os, sys\nlevel = int(sys.argv[1])\n"
          "if level == 0:\n    print('level 0'); sys.exit(0)\n"
          "status = os.system(f'python3 chain.py {level - 1}')\n"
          "print(f'level {level}: {status}')\n")


def test_children_by_measurement_and_the_cycle(lamina, lamina_path, tmp_path, key):
    sh_manifests(tmp_path, 'sgx.trusted_children = ["file:python3.sig"]\n')
    for name in ("python3", "sh", "main"):  # the order the trust needs
        r = sign(lamina, tmp_path, key, f"{name}.manifest")
        assert r.returncode == 0, r.stderr
    r = run_sgx(lamina_path, tmp_path, "main.manifest", "chain.py", "1", store=tmp_path / "s")
    assert (r.returncode, r.stdout) == (0, "level 0\nlevel 1: 0\n"), r.stderr
    # python3 trusts no one: the chain cannot go on (the cycle Graphene had)
    r = run_sgx(lamina_path, tmp_path, "main.manifest", "chain.py", "2", store=tmp_path / "s")
    assert r.stdout == "level 1: 32512\nlevel 2: 0\n"
    denial = [line for line in r.stderr.splitlines() if "denied" in line]
    python3 = hashlib.sha256((tmp_path / "python3.manifest.sgx").read_bytes()).hexdigest()
    sh = hashlib.sha256((tmp_path / "sh.manifest.sgx").read_bytes()).hexdigest()
    assert len(denial) == 1
    assert denial[0].startswith("lamina: denied: pid ")
    assert denial[0].endswith(
        f'exec "/bin/sh": its manifest \'./sh.manifest.sgx\' (measurement {sh}) is not '
        f"trusted by './python3.manifest.sgx' (measurement {python3}): neither the same "
        "measurement, nor a trusted child, nor a trusted signer")


def test_children_by_signer_break_the_cycle(lamina, lamina_path, tmp_path, key):
    trust = f'sgx.trusted_signers = ["file:{key}"]\n'
    sh_manifests(tmp_path, trust, trust)
    for name in ("main", "sh", "python3"):  # any order: nobody needs another's .sig
        assert sign(lamina, tmp_path, key, f"{name}.manifest").returncode == 0
    r = run_sgx(lamina_path, tmp_path, "main.manifest", "chain.py", "4", store=tmp_path / "s")
    assert (r.returncode, r.stdout) == (
        0, "level 0\nlevel 1: 0\nlevel 2: 0\nlevel 3: 0\nlevel 4: 0\n"), r.stderr


def test_a_swapped_child_sig_is_refused(lamina, lamina_path, tmp_path, key):
    sh_manifests(tmp_path, 'sgx.trusted_children = ["file:python3.sig"]\n')
    for name in ("python3", "sh", "main"):
        assert sign(lamina, tmp_path, key, f"{name}.manifest").returncode == 0
    shutil.copy(tmp_path / "main.sig", tmp_path / "sh.sig")
    r = run_sgx(lamina_path, tmp_path, "main.manifest", "chain.py", "1", store=tmp_path / "s")
    assert r.returncode == 124
    assert r.stderr.splitlines()[-1].startswith(
        "lamina: './sh.manifest.sgx' is not the manifest that './sh.sig' signed: its "
        "measurement is "), r.stderr


def test_sigview_and_measure_errors(lamina, tmp_path):
    bad = write(tmp_path, "bad.sig", "not a signature\n")
    r = lamina("sigview", bad)
    assert r.returncode == 1
    assert r.stderr.startswith(f"lamina: '{bad}': ")
    r = lamina("measure", tmp_path / "none.manifest.sgx")
    assert (r.returncode, r.stderr) == (
        1, f"lamina: cannot read '{tmp_path}/none.manifest.sgx': No such file or directory\n")
    r = lamina("sign", "--key", "k")
    assert r.returncode == 2
    assert r.stderr == ("lamina: usage: lamina sign --key KEY --manifest X.manifest --output "
                        "X.manifest.sgx [--sig X.sig] [--date YYYY-MM-DD]\n")
    r = lamina("sign", "--date", "2026-13-01")
    assert (r.returncode, r.stderr) == (
        2, "lamina: --date must be a date as YYYY-MM-DD, not '2026-13-01'\n")
