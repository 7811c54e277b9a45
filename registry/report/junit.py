"""`--format junit`: one test suite per alliance, one test case per rule; a rule
fails when it has findings at or above `--fail-on`. CI systems show these natively."""

from __future__ import annotations

from collections.abc import Sequence

from junitparser import Failure, JUnitXml, Skipped, TestCase, TestSuite

from registry.report.audited import Audited, failing, region_text
from registry.rules import RULES


def render(audits: Sequence[Audited], fail_on: str) -> str:
    xml = JUnitXml("registry audit")
    for audited in audits:
        report = audited.report
        suite = TestSuite(f"{report.alliance} as of {report.as_of}")
        for rule in RULES:
            case = TestCase(rule, classname=report.alliance)
            found = [f for f in report.findings if f.rule == rule]
            bad = [f for f in found if failing(f, fail_on)]
            if bad:
                failure = Failure(f"{len(bad)} finding(s) at or above {fail_on}", bad[0].severity)
                failure.text = "\n".join(
                    f"{f.severity}: {f.message} {region_text(f)}".rstrip() for f in bad
                )
                case.result = [failure]
            elif found:
                skipped = Skipped(f"{len(found)} finding(s) below {fail_on}")
                case.result = [skipped]
            suite.add_testcase(case)
        xml.add_testsuite(suite)
    xml.update_statistics()  # type: ignore[no-untyped-call]
    text: bytes = xml.tostring()  # type: ignore[no-untyped-call]
    return text.decode()
