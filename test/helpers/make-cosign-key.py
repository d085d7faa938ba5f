#!/usr/bin/python3
"""Generate a cosign/sigstore key pair in cosign's own file format (no cosign binary needed).

usage: make-cosign-key.py OUT-PREFIX [--passphrase P | --passphrase-file F] [--type ec-p256|ec-p384|ed25519|rsa-2048]
                          [--pem-type sigstore|cosign]
writes OUT-PREFIX.key  "ENCRYPTED SIGSTORE PRIVATE KEY" (or "ENCRYPTED COSIGN PRIVATE KEY") PEM, as `cosign
                       generate-key-pair` writes it: the PEM body is the JSON envelope of go-securesystemslib's
                       `encrypted` package,
                         {"kdf":{"name":"scrypt","params":{"N":32768,"r":8,"p":1},"salt":B64(32 bytes)},
                          "cipher":{"name":"nacl/secretbox","nonce":B64(24 bytes)},"ciphertext":B64(secretbox)}
                       where the secretbox key is scrypt(passphrase, salt, N, r, p, 32) and the plaintext is the
                       PKCS#8 DER private key
       OUT-PREFIX.pub  "PUBLIC KEY" PEM (SubjectPublicKeyInfo), what cosign.pub / policy.json keyPath hold
       OUT-PREFIX.pass the passphrase (no newline), for `skopeo copy --sign-passphrase-file`
Default passphrase: "test-cosign-pass" (a throwaway test passphrase, not a secret).
Readers: sigstore/sigstore pkg/cryptoutils (UnmarshalPEMToPrivateKey), so cosign, skopeo >= 1.9
(--sign-by-sigstore-private-key) and podman read it.
Needs Debian's python3-cryptography (or the openssl CLI) and python3-nacl; run with /usr/bin/python3.
"""
import argparse, base64, hashlib, json, os, subprocess, sys, tempfile

try:
    import nacl.secret
except ImportError:
    sys.exit("make-cosign-key.py: python3-nacl missing (scripts/install-peers.sh installs it; run with /usr/bin/python3)")

N, R, P = 32768, 8, 1          # go-securesystemslib "Legacy" scrypt parameters (what cosign has always written)
B64 = lambda b: base64.b64encode(b).decode()


def pem(kind, der):
    body = base64.b64encode(der).decode()
    return "-----BEGIN %s-----\n%s\n-----END %s-----\n" % (
        kind, "\n".join(body[i:i + 64] for i in range(0, len(body), 64)), kind)


def pem_der(text):
    lines = [l for l in text.strip().splitlines() if not l.startswith("-----")]
    return base64.b64decode("".join(lines))


def keypair(kind):
    """(PKCS#8 DER private key, SubjectPublicKeyInfo PEM)"""
    try:
        from cryptography.hazmat.primitives import serialization as s
        from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
        k = {"ec-p256": lambda: ec.generate_private_key(ec.SECP256R1()),
             "ec-p384": lambda: ec.generate_private_key(ec.SECP384R1()),
             "ed25519": ed25519.Ed25519PrivateKey.generate,
             "rsa-2048": lambda: rsa.generate_private_key(65537, 2048)}[kind]()
        der = k.private_bytes(s.Encoding.DER, s.PrivateFormat.PKCS8, s.NoEncryption())
        pub = k.public_key().public_bytes(s.Encoding.PEM, s.PublicFormat.SubjectPublicKeyInfo).decode()
        return der, pub
    except ImportError:
        pass
    gen = {"ec-p256": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
           "ec-p384": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
           "ed25519": ["-algorithm", "ED25519"],
           "rsa-2048": ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]}[kind]
    with tempfile.TemporaryDirectory() as d:
        k = os.path.join(d, "k.pem")
        subprocess.run(["openssl", "genpkey", *gen, "-out", k], check=True, capture_output=True)
        der = subprocess.run(["openssl", "pkcs8", "-topk8", "-nocrypt", "-outform", "DER", "-in", k],
                             check=True, capture_output=True).stdout
        pub = subprocess.run(["openssl", "pkey", "-pubout", "-in", k], check=True, capture_output=True).stdout.decode()
    return der, pub


def encrypt(plain, passphrase):
    salt, nonce = os.urandom(32), os.urandom(24)
    key = hashlib.scrypt(passphrase, salt=salt, n=N, r=R, p=P, maxmem=128 * R * N * 2, dklen=32)
    box = nacl.secret.SecretBox(key).encrypt(plain, nonce).ciphertext   # Poly1305 tag || XSalsa20 ciphertext
    env = {"kdf": {"name": "scrypt", "params": {"N": N, "r": R, "p": P}, "salt": B64(salt)},
           "cipher": {"name": "nacl/secretbox", "nonce": B64(nonce)}, "ciphertext": B64(box)}
    return json.dumps(env, separators=(",", ":")).encode()


def decrypt(envelope, passphrase):
    e = json.loads(envelope)
    assert e["kdf"]["name"] == "scrypt" and e["cipher"]["name"] == "nacl/secretbox", e
    p = e["kdf"]["params"]
    key = hashlib.scrypt(passphrase, salt=base64.b64decode(e["kdf"]["salt"]), n=p["N"], r=p["r"], p=p["p"],
                         maxmem=128 * p["r"] * p["N"] * 2, dklen=32)
    return nacl.secret.SecretBox(key).decrypt(base64.b64decode(e["ciphertext"]), base64.b64decode(e["cipher"]["nonce"]))


def main():
    a = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    a.add_argument("out")
    a.add_argument("--passphrase", default=None)
    a.add_argument("--passphrase-file", default=None)
    a.add_argument("--type", default="ec-p256", choices=["ec-p256", "ec-p384", "ed25519", "rsa-2048"])
    a.add_argument("--pem-type", default="sigstore", choices=["sigstore", "cosign"])
    o = a.parse_args()
    if o.passphrase_file:
        with open(o.passphrase_file, "rb") as f:
            pw = f.read().split(b"\n")[0]
    else:
        pw = (o.passphrase if o.passphrase is not None else "test-cosign-pass").encode()
    der, pub = keypair(o.type)
    env = encrypt(der, pw)
    assert decrypt(env, pw) == der          # round trip before anything is written
    kind = "ENCRYPTED %s PRIVATE KEY" % o.pem_type.upper()
    old = os.umask(0o077)
    try:
        with open(o.out + ".key", "w") as f: f.write(pem(kind, env))
        with open(o.out + ".pass", "wb") as f: f.write(pw)
    finally:
        os.umask(old)
    with open(o.out + ".pub", "w") as f: f.write(pub)
    print("%s.key (%s, %s), %s.pub, %s.pass" % (o.out, kind, o.type, o.out, o.out))


if __name__ == "__main__":
    main()
