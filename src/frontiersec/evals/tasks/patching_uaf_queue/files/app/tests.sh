#!/bin/sh
# the program's own tests
set -e
[ "$(printf 'add a\nadd b\nlist\n' | ./jobs)" = "$(printf 'queued a\nqueued b')" ]
[ "$(printf 'done\nlist\n' | ./jobs)" = "" ]
echo ok
