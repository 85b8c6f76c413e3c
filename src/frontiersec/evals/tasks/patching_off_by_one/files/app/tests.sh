#!/bin/sh
# the program's own tests
set -e
[ "$(echo 00ff10 | ./hexdec)" = "key(3): 00 ff 10" ]
[ "$(echo 000102030405060708090a0b0c0d0e0f | ./hexdec)" = "key(16): 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f" ]
[ "$(echo abc | ./hexdec)" = "bad length" ] || [ "$(echo abc | ./hexdec)" = "" ]
[ "$(echo zz | ./hexdec)" = "bad digit" ]
echo ok
