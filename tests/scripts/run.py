#!/usr/bin/env python3
"""CTest's entry point for the script tests: runs the unittest ids given (module.Class.test)
and exits 77 when every test it ran was skipped, so CTest (SKIP_RETURN_CODE 77) shows the test
as skipped, with unittest's reason in its output, rather than as passed.

    python3 tests/scripts/run.py test_compare.CompareCli.test_log_against_itself
"""
import sys
import unittest

SKIPPED = 77


def main(ids: list[str]) -> int:
    suite = unittest.defaultTestLoader.loadTestsFromNames(ids)
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    if not result.wasSuccessful():
        return 1
    if result.testsRun and len(result.skipped) == result.testsRun:
        for test, reason in result.skipped:
            print(f"SKIPPED {test.id()}: {reason}")
        return SKIPPED
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
