#!/usr/bin/env bash
# One entry point for a fresh machine.
#   bash run.sh main    set up, render every LSTM diagram into out/ and print the paper check
#   bash run.sh test    set up and run the whole test suite (tests, notebooks, headless-browser tests)
#   bash run.sh setup   only set up: .venv with the project and its test tools, Graphviz's dot, Chromium
# Setting up needs Python >= 3.11; it installs Debian's python3-venv, graphviz and fonts-dejavu-core with
# apt-get when they are missing, and for the tests Debian's chromium and chromium-driver (as
# root, or through sudo); the main command needs no browser.
set -euo pipefail
cd "$(dirname "$0")"

say() { printf '\033[1m[run.sh]\033[0m %s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo "$@"
    else say "need root to run: $*  (run it yourself, then run this script again)"; exit 1
    fi
}

apt_install() {
    command -v apt-get >/dev/null 2>&1 || { say "apt-get not found: please install $* with your package manager"; exit 1; }
    say "installing $* with apt-get"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

find_python() {
    for candidate in "${PYTHON:-}" python3.11 python3.12 python3.13 python3; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 &&
           "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$candidate"; return 0
        fi
    done
    say "Python >= 3.11 not found (set PYTHON=/path/to/python3.11)"; exit 1
}

setup() {
    if ! command -v dot >/dev/null 2>&1; then
        apt_install graphviz
    fi
    # the diagrams' font (lstm/diagrams.py FONT): without it Graphviz's PNGs fall back to a face whose ι has no tail
    if [ ! -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] && ! fc-list 2>/dev/null | grep -q "DejaVu Sans"; then
        apt_install fonts-dejavu-core
    fi
    if [ ! -x .venv/bin/python ]; then
        local py; py=$(find_python)
        if ! "$py" -m venv .venv 2>/dev/null; then
            rm -rf .venv
            apt_install python3-venv
            "$py" -m venv .venv
        fi
    fi
    local stamp; stamp=$(sha256sum pyproject.toml | cut -d' ' -f1)
    if [ ! -f .venv/.setup-stamp ] || [ "$(cat .venv/.setup-stamp)" != "$stamp" ]; then
        say "installing the project and its test tools into .venv"
        .venv/bin/python -m pip install -q --upgrade pip
        .venv/bin/python -m pip install -q -e ".[test]"
        echo "$stamp" > .venv/.setup-stamp
    fi
}

setup_browser() {
    # the browser tests drive Debian's Chromium (tests/browser/); the main command needs none
    if [ ! -x /usr/bin/chromium ] || ! command -v chromedriver >/dev/null 2>&1; then
        apt_install chromium chromium-driver
    fi
}

case "${1:-}" in
    setup) setup; setup_browser ;;
    main)  setup; shift; exec .venv/bin/python -m lstm main --force "$@" ;;
    test)  setup; setup_browser; shift; exec .venv/bin/python -m pytest -n 2 --doctest-modules --nbmake tests notebooks tinygraph lstm "$@" ;;
    *) sed -n '2,7p' "$0"; exit 2 ;;
esac
