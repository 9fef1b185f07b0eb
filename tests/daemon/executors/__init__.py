"""Tests of the executors: one contract suite for every implementation, and their own."""
