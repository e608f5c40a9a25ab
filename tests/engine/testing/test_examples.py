"""`velo test` on every example app that has a spec, so CI covers them all."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from velostream.cli import main
from velostream.testing.spec import find_spec

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = sorted(
    p for p in (ROOT / "example-notebooks").glob("**/*.sql") if find_spec(p) is not None
)


def test_the_examples_have_specs() -> None:
    names = {p.relative_to(ROOT / "example-notebooks").as_posix() for p in EXAMPLES}
    assert {"quickstart.sql", "apps/market_agg.sql", "apps/orders_enriched.sql",
            "apps/high_value.sql"} <= names  # fmt: skip


@pytest.mark.parametrize("app", EXAMPLES, ids=lambda p: p.name)
def test_velo_test_passes_on_example(app: Path) -> None:
    res = CliRunner().invoke(main, ["test", str(app)])
    assert res.exit_code == 0, res.output
    assert "passed:" in res.output
