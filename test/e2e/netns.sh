#!/bin/sh
# Run a command inside a private network namespace that has only loopback,
# so that no phone or PBX under test can reach anything else:
#
#   test/e2e/netns.sh python3 test/e2e/selftest_p2p.py
#
# Where unshare is not permitted (no CAP_SYS_ADMIN / user namespaces), fall
# back to running the command on the host's plain loopback and say so.
# SWITCHBOARD_E2E_NETNS=0 skips the namespace; inside one, it is set to 1.

if [ $# -eq 0 ]; then
    echo "usage: $0 COMMAND [ARGS...]" >&2
    exit 2
fi

if [ "${SWITCHBOARD_E2E_NETNS:-}" = 1 ]; then
    exec "$@"               # already inside
fi

if [ "${SWITCHBOARD_E2E_NETNS:-}" != 0 ] && command -v unshare >/dev/null 2>&1 \
   && unshare --net sh -c 'ip link set lo up' >/dev/null 2>&1; then
    SWITCHBOARD_E2E_NETNS=1 exec unshare --net sh -c \
        'ip link set lo up && exec "$@"' netns.sh "$@"
fi

# try an unprivileged user namespace (maps us to root inside it)
if [ "${SWITCHBOARD_E2E_NETNS:-}" != 0 ] && command -v unshare >/dev/null 2>&1 \
   && unshare --user --map-root-user --net sh -c 'ip link set lo up' \
        >/dev/null 2>&1; then
    SWITCHBOARD_E2E_NETNS=1 exec unshare --user --map-root-user --net sh -c \
        'ip link set lo up && exec "$@"' netns.sh "$@"
fi

if [ "${SWITCHBOARD_E2E_NETNS:-}" = 0 ]; then
    echo "netns.sh: NOTE: SWITCHBOARD_E2E_NETNS=0: running on the host's" \
         "plain loopback, no private network namespace" >&2
    exec "$@"
fi
echo "netns.sh: NOTE: cannot create a private network namespace" \
     "(unshare --net not permitted); running on the host's plain loopback" >&2
SWITCHBOARD_E2E_NETNS=0 exec "$@"
