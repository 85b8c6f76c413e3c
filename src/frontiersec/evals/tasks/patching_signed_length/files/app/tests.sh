#!/bin/sh
# the program's own tests
set -e
[ "$(echo '5 hello world' | ./frame)" = "frame: hello" ]
[ "$(echo '50 short' | ./frame)" = "frame: short" ]
[ "$(echo '65 x' | ./frame)" = "too long" ]
[ "$(echo 'nospace' | ./frame)" = "bad frame" ]
echo ok
