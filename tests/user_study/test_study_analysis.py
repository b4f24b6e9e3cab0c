"""user_study.analysis: the driver's public names (tests of each step live in test_study_<step>.py)."""
from __future__ import annotations

from user_study import agreement, analysis, answers, mos, preference, report


def test_step_names_are_importable_from_analysis():
    # user_study.cli and demo.handlers import these from user_study.analysis
    assert analysis.read_answers is answers.read_answers
    assert analysis.screen_participants is answers.screen_participants
    assert analysis.preferences is preference.preferences and analysis.position_bias is preference.position_bias
    assert analysis.mos is mos.mos and analysis.mos_tests is mos.mos_tests
    assert analysis.agreement is agreement.agreement
    assert analysis.write_results is report.write_results and analysis.report_markdown is report.report_markdown
    assert analysis.plot is report.plot and analysis.preference_rows is report.preference_rows
    assert set(analysis.__all__) <= set(dir(analysis))


def test_default_results_dir(tmp_path):
    assert analysis.default_results_dir(tmp_path / "s") == tmp_path / "s" / "results"
