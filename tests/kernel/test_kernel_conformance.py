"""jupyter_kernel_test conformance for the installed "velostream" kernelspec: every message is
checked against the Jupyter message schema."""

from __future__ import annotations

import unittest

import jupyter_kernel_test

BOUNDED_SOURCE = (
    "WITH ('t.type' = 'synthetic', 't.count' = '20', 't.schema' = 'k STRING ENUM(a,b), v BIGINT')"
)


class VeloKernelConformance(jupyter_kernel_test.KernelTests):
    """The protocol features the kernel supports, through the standard suite."""

    kernel_name = "velostream"
    language_name = "velosql"
    file_extension = ".sql"
    completion_samples = [
        {"text": "SELEC", "matches": {"SELECT"}},
        {"text": "SELECT COUNT_DIS", "matches": {"COUNT_DISTINCT"}},
    ]
    complete_code_samples = ["SELECT a FROM t;", "SHOW JOBS", "SET velo.refresh = 1"]
    incomplete_code_samples = ["SELECT a FROM", "SELECT 'unterminated"]
    code_generate_error = "SELEC oops"
    code_display_data = [
        {"code": "SHOW FUNCTIONS", "mime": "text/html"},
        {"code": f"SELECT k, v FROM t {BOUNDED_SOURCE}", "mime": "text/plain"},
    ]
    code_inspect_sample = "COUNT"


if __name__ == "__main__":
    unittest.main()
