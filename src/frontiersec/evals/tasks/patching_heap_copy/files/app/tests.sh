#!/bin/sh
# the program's own tests
set -e
[ "$(echo 'a,bb,c' | ./csvfield)" = "bb" ]
[ "$(echo 'a,last' | ./csvfield)" = "last" ]
[ "$(echo 'nofield' | ./csvfield)" = "-" ]
[ "$(echo 'a,,c' | ./csvfield)" = "" ]
echo ok
