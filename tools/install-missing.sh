# tools/install-missing.sh - sourced (not run) by bench/install-deps.sh,
# firmware/install-deps.sh and tests/install-deps.sh:
#
#   install_missing TAG ROOT_TAG PKG...
#
# installs those of the Debian packages PKG... that dpkg does not list as
# installed (each once) with apt-get, as root or through sudo, saying
# "TAG: installing: ..." before and "TAG: done" after; quiet when nothing is
# missing.  apt-get waits up to 10 minutes for another apt or dpkg (a first
# boot's unattended-upgrades) to release its lock.  Without root and without
# sudo it prints "ROOT_TAG: need root to run: apt-get install ..." and exits 1.
# shellcheck shell=sh

install_missing() {
    _im_tag=$1 _im_root_tag=$2 _im_missing=""
    shift 2
    for _im_p in "$@"; do
        case " $_im_missing " in *" $_im_p "*) continue ;; esac
        dpkg-query -W -f='${Status}' "$_im_p" 2>/dev/null | grep -q "install ok installed" ||
            _im_missing="$_im_missing $_im_p"
    done
    [ -n "$_im_missing" ] || return 0

    echo "$_im_tag: installing:$_im_missing"
    if [ "$(id -u)" -eq 0 ]; then
        _im_sudo=""
    elif command -v sudo >/dev/null 2>&1; then
        _im_sudo="sudo"
    else
        echo "$_im_root_tag: need root to run: apt-get install$_im_missing" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    $_im_sudo apt-get -o DPkg::Lock::Timeout=600 update -qq
    # shellcheck disable=SC2086
    $_im_sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $_im_missing >/dev/null
    echo "$_im_tag: done"
}
