"""The labelled attack set, small and seeded: the same thresholds as the full benchmark."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "fraud_attacks.py"


def _bench():
    spec = importlib.util.spec_from_file_location("fraud_attacks_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_attacks_are_caught_and_legitimate_referrals_pass() -> None:
    bench = _bench()
    report = bench.run(seed=7, legit=1500, per_attack=5)
    assert len(report.per_attack) >= 20
    assert report.detection_rate >= 0.95, report.per_attack
    assert report.false_positive_rate <= 0.01, report.false_positive_codes
    blind = [name for name, (found, _n) in report.per_attack.items() if found == 0]
    assert blind == ["second SIM, fresh browser, mobile data (blind spot)"]


def test_the_report_is_markdown_with_every_generator() -> None:
    bench = _bench()
    report = bench.run(seed=11, legit=300, per_attack=2)
    text = bench.markdown(report)
    assert text.startswith("# Fraud rules") and "Seed 11" in text
    assert all(name in text for name in bench.ATTACKS)
