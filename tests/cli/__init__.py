"""Tests of `cli`: each command's ``main(argv)`` in-process, and the installed commands in a
subprocess (start-up imports, exit codes, Ctrl-C)."""
