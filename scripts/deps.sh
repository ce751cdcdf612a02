#!/bin/sh
# deps.sh - install the Debian packages a make target needs, when missing.
# usage: scripts/deps.sh build|check|fuzz
set -eu

case "${1:-}" in
build) pkgs="gcc make libc6-dev libmnl-dev libnftables-dev libssl-dev libssh-dev libpcap-dev libndpi-dev libjansson-dev libyaml-dev iputils-ping" ;;
check) pkgs="gcc make libc6-dev libmnl-dev libnftables-dev libssl-dev libssh-dev libpcap-dev libndpi-dev libjansson-dev libyaml-dev libcmocka-dev jq iputils-ping iperf3 tshark libndpi-bin d-itg
              nginx-light mosquitto redis-server dnsmasq-base vsftpd openssh-server
              podman runc busybox-static" ;;
fuzz)  pkgs="clang libclang-rt-14-dev libmnl-dev libnftables-dev libssl-dev libssh-dev libpcap-dev libndpi-dev libjansson-dev libyaml-dev" ;;
*) echo "usage: $0 build|check|fuzz" >&2; exit 2 ;;
esac

if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "deps: not a Debian system; make sure these are installed: $pkgs" >&2
	exit 0
fi

missing=""
for p in $pkgs; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing Debian packages:$missing" >&2
	echo "deps: run as root, or: sudo apt-get install$missing" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# The servers are for dynamo to start inside its own namespaces; their
# packages must not start them as services on the machine.  Without a
# policy of the machine's own, deny service starts while installing.
policy=/usr/sbin/policy-rc.d
if [ ! -e $policy ]; then
	printf '#!/bin/sh\n# dynamo deps.sh: no service starts while installing\nexit 101\n' >$policy
	chmod 755 $policy
	trap 'rm -f $policy' EXIT
fi
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
