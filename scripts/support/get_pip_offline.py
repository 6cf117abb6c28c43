"""Offline stand-in for the get-pip bootstrap script that ansible-test downloads.

ansible-test runs this file in place of get-pip.py when it builds its own virtual environments.
The host that serves get-pip.py may be unreachable, while the venv's own ensurepip and the package
index are not: install pip from ensurepip, then install what ansible-test asked for.
"""
import subprocess
import sys

DROPPED = {"--no-setuptools", "--no-wheel"}


def main():
    subprocess.run([sys.executable, "-m", "ensurepip", "--default-pip"], check=True, stdout=subprocess.DEVNULL)
    args = [arg for arg in sys.argv[1:] if arg not in DROPPED]
    sys.exit(subprocess.call([sys.executable, "-m", "pip", "install"] + args))


if __name__ == "__main__":
    main()
