#!/bin/sh
# the program's own tests
set -e
[ "$(echo 'Ada,ACME' | ./badge)" = "VISITOR Ada (ACME)" ]
[ "$(echo 'nocomma' | ./badge)" = "bad line" ]
[ "$(printf 'Bo,X\nCy,Y\n' | ./badge | wc -l)" = "2" ]
echo ok
