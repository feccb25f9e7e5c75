# Shared setup of scripts/test.sh and scripts/demo.sh. Source it from the repo root.
#
# PYTHON names the interpreter for a new .venv (default python3, which must be
# Python 3.11 or newer).

MELTANO_VERSION=4.4.1
export MELTANO_SEND_ANONYMOUS_USAGE_STATS=false

# Creates .venv when missing and installs the tap, its dev extras and Meltano.
setup_venv() {
    local python="${PYTHON:-python3}"
    if [[ ! -x .venv/bin/python ]]; then
        if ! "$python" -m venv .venv; then
            if [[ "$(id -u)" != 0 ]]; then
                echo "setup.sh: '$python -m venv' failed; install python3-venv" >&2
                return 1
            fi
            rm -rf .venv
            echo "setup.sh: installing Debian's python3-venv" >&2
            apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
            "$python" -m venv .venv
        fi
    fi
    .venv/bin/python -m pip install -q -e '.[dev]' "meltano==$MELTANO_VERSION"
}

# Installs the named Meltano plugins into .meltano/ (seconds when up to date).
install_plugins() {
    .venv/bin/meltano --log-level=warning install "$@"
}
