#!/bin/sh
# gen_users.sh FIRST COUNT [ORDER] -- sipp injection file of COUNT users
# numbered from FIRST, each with password "secret<number>":
#   SEQUENTIAL
#   2000;secret2000;[authentication username=2000 password=secret2000];
#   2001;secret2001;[authentication username=2001 password=secret2001];
# field0 user, field1 password, field2 the sipp [authentication] keyword
# for that user (sipp 3.6.1 does not expand [field0] inside
# [authentication ...], but it does expand keywords in injected fields).
# ORDER is SEQUENTIAL (default), RANDOM or USER (see sipp -inf).
first=${1:?usage: gen_users.sh FIRST COUNT [ORDER]}
count=${2:?usage: gen_users.sh FIRST COUNT [ORDER]}
order=${3:-SEQUENTIAL}
echo "$order"
awk -v f="$first" -v n="$count" 'BEGIN {
	for (i = f; i < f + n; i++)
		printf "%d;secret%d;[authentication username=%d password=secret%d];\n", i, i, i, i
}'
