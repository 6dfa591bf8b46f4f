"""The HIPAA Security Rule catalogue: its shape, its designations, how citations resolve, and that
every citation the rule packs use is found in it."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import pytest
import yaml

import phiwatch
from phiwatch.hipaa import (
    EVIDENCE_KINDS,
    PARTS,
    Specification,
    covers,
    parts,
    resolve,
    sort_key,
    specification,
    standard_of,
)

PACKS = [Path(phiwatch.__file__).parent / "rules" / "packs" / name for name in ("hipaa.yaml", "hipaa-extras.yaml")]
#: citations the packs use on purpose that are outside Subpart C (164.514(b): de-identification, Privacy Rule)
OUTSIDE_SUBPART_C = {"164.514(b)"}


def all_specifications() -> list[Specification]:
    return [spec for part in PARTS for standard in part.standards for spec in standard.specifications]


def pack_citations() -> set[str]:
    found: set[str] = set()
    for path in PACKS:
        for entry in yaml.safe_load(path.read_text())["rules"]:
            found.update(entry.get("hipaa_sections") or ())
    return found


def test_parts_in_regulation_order():
    assert parts() is PARTS
    assert [p.citation for p in PARTS] == ["164.308", "164.310", "164.312", "164.314", "164.316"]
    assert [p.title for p in PARTS] == [
        "Administrative safeguards",
        "Physical safeguards",
        "Technical safeguards",
        "Organizational requirements",
        "Policies and procedures and documentation requirements",
    ]


def test_counts_per_part():
    standards = {p.citation: len(p.standards) for p in PARTS}
    specifications = {p.citation: sum(len(s.specifications) for s in p.standards) for p in PARTS}
    assert standards == {"164.308": 9, "164.310": 4, "164.312": 5, "164.314": 2, "164.316": 2}
    assert specifications == {"164.308": 23, "164.310": 10, "164.312": 9, "164.314": 7, "164.316": 4}


def test_standards_of_each_part():
    by_part = {p.citation: [s.citation for s in p.standards] for p in PARTS}
    assert by_part["164.308"] == [*(f"164.308(a)({n})" for n in range(1, 9)), "164.308(b)(1)"]
    assert by_part["164.310"] == ["164.310(a)(1)", "164.310(b)", "164.310(c)", "164.310(d)(1)"]
    assert by_part["164.312"] == ["164.312(a)(1)", "164.312(b)", "164.312(c)(1)", "164.312(d)", "164.312(e)(1)"]
    assert by_part["164.314"] == ["164.314(a)(1)", "164.314(b)(1)"]
    assert by_part["164.316"] == ["164.316(a)", "164.316(b)(1)"]


def test_citations_are_unique_and_in_regulation_order():
    citations = [spec.citation for spec in all_specifications()]
    assert len(citations) == len(set(citations)) == 53
    standards = [standard.citation for part in PARTS for standard in part.standards]
    assert len(standards) == len(set(standards)) == 22
    assert sorted(citations, key=sort_key) == citations
    assert sorted(standards, key=sort_key) == standards


def test_every_specification_is_explained_with_one_kind_of_evidence():
    for part in PARTS:
        for standard in part.standards:
            assert standard.title and standard.explanation.strip()
            assert standard.specifications
            for spec in standard.specifications:
                assert spec.title.strip(), spec.citation
                assert len(spec.explanation.strip()) > 40, spec.citation
                assert spec.evidence in EVIDENCE_KINDS, spec.citation
                assert isinstance(spec.required, bool)


def test_catalogue_is_immutable():
    spec = specification("164.312(b)")
    assert spec is not None
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.required = False  # type: ignore[misc]
    assert isinstance(PARTS[0].standards, tuple) and isinstance(PARTS[0].standards[0].specifications, tuple)


def test_evidence_kind_is_checked():
    with pytest.raises(ValueError, match="evidence"):
        Specification("164.312(b)", "Audit controls", True, "x", "aws")  # type: ignore[arg-type]


def test_standards_without_specifications_are_their_own_required_specification():
    alone = [
        "164.308(a)(2)",
        "164.308(a)(8)",
        "164.310(b)",
        "164.310(c)",
        "164.312(b)",
        "164.312(d)",
        "164.316(a)",
    ]
    for citation in alone:
        standard = standard_of(citation)
        assert standard is not None and standard.citation == citation
        assert [s.citation for s in standard.specifications] == [citation]
        assert standard.specifications[0].required, citation
        assert standard.specifications[0].title == standard.title
    others = [s for p in PARTS for s in p.standards if s.citation not in alone]
    assert all(spec.citation != standard.citation for standard in others for spec in standard.specifications)


@pytest.mark.parametrize(
    ("citation", "title", "required"),
    [
        ("164.308(a)(1)(ii)(A)", "Risk analysis", True),
        ("164.308(a)(1)(ii)(D)", "Information system activity review", True),
        ("164.308(a)(3)(ii)(A)", "Authorization and/or supervision", False),
        ("164.308(a)(4)(ii)(A)", "Isolating health care clearinghouse functions", True),
        ("164.308(a)(4)(ii)(B)", "Access authorization", False),
        ("164.308(a)(5)(ii)(D)", "Password management", False),
        ("164.308(a)(6)(ii)", "Response and reporting", True),
        ("164.308(a)(7)(ii)(C)", "Emergency mode operation plan", True),
        ("164.308(a)(7)(ii)(D)", "Testing and revision procedures", False),
        ("164.308(a)(7)(ii)(E)", "Applications and data criticality analysis", False),
        ("164.308(b)(3)", "Written contract or other arrangement", True),
        ("164.310(a)(2)(ii)", "Facility security plan", False),
        ("164.310(d)(2)(i)", "Disposal", True),
        ("164.310(d)(2)(ii)", "Media re-use", True),
        ("164.310(d)(2)(iii)", "Accountability", False),
        ("164.312(a)(2)(i)", "Unique user identification", True),
        ("164.312(a)(2)(ii)", "Emergency access procedure", True),
        ("164.312(a)(2)(iii)", "Automatic logoff", False),
        ("164.312(a)(2)(iv)", "Encryption and decryption", False),
        ("164.312(c)(2)", "Mechanism to authenticate electronic protected health information", False),
        ("164.312(e)(2)(ii)", "Encryption", False),
        ("164.316(b)(2)(i)", "Time limit", True),
    ],
)
def test_designations(citation: str, title: str, required: bool):
    spec = specification(citation)
    assert spec is not None
    assert (spec.title, spec.required) == (title, required)


def test_addressable_specifications_are_only_in_the_safeguards():
    addressable = {s.citation for s in all_specifications() if not s.required}
    assert addressable == {
        *(f"164.308(a)(3)(ii)({x})" for x in "ABC"),
        "164.308(a)(4)(ii)(B)",
        "164.308(a)(4)(ii)(C)",
        *(f"164.308(a)(5)(ii)({x})" for x in "ABCD"),
        "164.308(a)(7)(ii)(D)",
        "164.308(a)(7)(ii)(E)",
        *(f"164.310(a)(2)({n})" for n in ("i", "ii", "iii", "iv")),
        "164.310(d)(2)(iii)",
        "164.310(d)(2)(iv)",
        "164.312(a)(2)(iii)",
        "164.312(a)(2)(iv)",
        "164.312(c)(2)",
        "164.312(e)(2)(i)",
        "164.312(e)(2)(ii)",
    }
    assert len(addressable) == 22
    assert all(s.required for p in PARTS[3:] for st in p.standards for s in st.specifications)


def test_evidence_kinds():
    evidence = {s.citation: s.evidence for s in all_specifications()}
    assert {c for c, kind in evidence.items() if kind == "aws-shared"} == {
        "164.310(a)(2)(i)",
        "164.310(a)(2)(ii)",
        "164.310(a)(2)(iii)",
        "164.310(a)(2)(iv)",
        "164.310(d)(2)(i)",
        "164.310(d)(2)(ii)",
    }
    for citation in ("164.312(b)", "164.312(a)(2)(iv)", "164.312(e)(2)(ii)", "164.308(a)(7)(ii)(A)", "164.312(d)"):
        assert evidence[citation] == "aws-data", citation
    for citation in ("164.308(a)(1)(ii)(A)", "164.308(a)(1)(ii)(C)", "164.308(a)(5)(ii)(A)", "164.308(b)(3)", "164.310(b)", "164.310(c)"):
        assert evidence[citation] == "attestation", citation
    assert all(kind == "attestation" for c, kind in evidence.items() if c.startswith(("164.314", "164.316")))


def test_specification_is_exact():
    assert specification("164.312(a)(2)(iv)").title == "Encryption and decryption"  # type: ignore[union-attr]
    assert specification(" 164.312(b) ") is specification("164.312(b)")
    assert specification("164.312(a)(1)") is None  # a standard with specifications is not one
    assert specification("164.312(a)(2)") is None
    assert specification("164.312(z)") is None


def test_standard_of():
    def of(citation: str) -> str | None:
        standard = standard_of(citation)
        return standard.citation if standard else None

    assert of("164.312(a)(2)(iv)") == "164.312(a)(1)"
    assert of("164.312(a)(1)") == "164.312(a)(1)"
    assert of("164.308(a)(1)(ii)(D)") == "164.308(a)(1)"
    assert of("164.308(b)(3)") == "164.308(b)(1)"
    assert of("164.314(a)(2)(iii)") == "164.314(a)(1)"
    assert of("164.312(c)(2)") == "164.312(c)(1)"
    assert of("164.312(b)") == "164.312(b)"
    # the paragraph holding a standard's own text, as some packs cite it
    assert of("164.308(a)(7)(i)") == "164.308(a)(7)"
    assert of("164.308(a)(6)(i)") == "164.308(a)(6)"
    # a paragraph within one standard, and none for several or none
    assert of("164.312(a)(2)") == "164.312(a)(1)"
    assert of("164.312") is None
    assert of("164.308(a)") is None
    assert of("164.312(a)(1)(i)") is None  # 164.312(a)(1) has no (i): its specifications are in (a)(2)
    assert of("164.514(b)") is None
    assert of("") is None


def test_resolve():
    def citations(c: str) -> list[str]:
        return [s.citation for s in resolve(c)]

    assert citations("164.312(a)(2)(iv)") == ["164.312(a)(2)(iv)"]
    assert citations("164.312(b)") == ["164.312(b)"]
    assert citations("164.312(a)(1)") == [f"164.312(a)(2)({n})" for n in ("i", "ii", "iii", "iv")]
    assert citations("164.308(a)(7)(i)") == [f"164.308(a)(7)(ii)({x})" for x in "ABCDE"]
    assert citations("164.312(c)(1)") == ["164.312(c)(2)"]
    assert citations("164.308(a)(1)(ii)") == [f"164.308(a)(1)(ii)({x})" for x in "ABCD"]
    assert citations("164.314(b)(2)(i)") == ["164.314(b)(2)(i)"]
    assert citations("164.514(b)") == []
    assert citations("164.312") == []
    assert citations("164.312(z)(1)") == []


def test_every_pack_citation_resolves():
    citations = pack_citations()
    assert len(citations) > 20  # the packs were read
    unresolved = {c for c in citations if not resolve(c)}
    assert unresolved <= OUTSIDE_SUBPART_C
    for citation in citations - OUTSIDE_SUBPART_C:
        standard = standard_of(citation)
        assert standard is not None, citation
        assert {s.citation for s in resolve(citation)} <= {s.citation for s in standard.specifications}
        assert any(covers(p.citation, citation) for p in PARTS), citation


def test_covers():
    assert covers("164.312", "164.312(b)")
    assert covers("164.312", "164.312(a)(2)(iv)")
    assert covers("164.312(a)", "164.312(a)(1)")
    assert covers("164.312(a)(1)", "164.312(a)(2)(iv)")  # a standard covers its specifications
    assert covers("164.312(b)", "164.312(b)")
    assert covers("164.308(a)(1)", "164.308(a)(1)(ii)(B)")
    assert covers("164.308(b)(1)", "164.308(b)(3)")
    assert covers("164.308(a)(7)(i)", "164.308(a)(7)(ii)(A)")  # the standard, cited by the paragraph of its text
    assert covers("164.308(a)(7)", "164.308(a)(7)(i)")
    assert covers("164", "164.312(b)")

    assert not covers("164.31", "164.312")  # not in the middle of a number
    assert not covers("164.31", "164.312(b)")
    assert not covers("164.308(a)(1)", "164.308(a)(10)")
    assert not covers("164.312(b)", "164.312")
    assert not covers("164.312(a)(2)(iv)", "164.312(a)(1)")  # a specification does not cover its standard
    assert not covers("164.312(a)(2)(iv)", "164.312(a)(2)(i)")
    assert not covers("164.312(a)(1)", "164.312(b)")
    assert not covers("164.312(c)(1)", "164.312(a)(2)(iv)")
    assert not covers("164.308(a)(7)(ii)(A)", "164.308(a)(7)")
    assert not covers("", "164.312(b)")


def test_covers_agrees_with_resolve_for_standards():
    for part in PARTS:
        for standard in part.standards:
            assert all(covers(part.citation, s.citation) for s in standard.specifications)
            assert all(covers(standard.citation, s.citation) for s in standard.specifications)
            assert resolve(standard.citation) == standard.specifications
            others = [s for p in PARTS for st in p.standards if st is not standard for s in st.specifications]
            assert not any(covers(standard.citation, s.citation) for s in others), standard.citation


def test_sort_key_orders_naturally():
    expected = [
        "164.308",
        "164.308(a)(1)",
        "164.308(a)(1)(i)",
        "164.308(a)(1)(ii)(A)",
        "164.308(a)(1)(ii)(B)",
        "164.308(a)(2)",
        "164.308(a)(9)",
        "164.308(a)(10)",
        "164.308(b)(1)",
        "164.310(a)(1)",
        "164.312(a)(1)",
        "164.312(a)(2)(i)",
        "164.312(a)(2)(ii)",
        "164.312(a)(2)(iii)",
        "164.312(a)(2)(iv)",
        "164.312(a)(2)(v)",
        "164.312(a)(2)(ix)",
        "164.312(a)(2)(x)",
        "164.312(b)",
        "164.312(e)(2)(ii)",
        "164.314(a)(1)",
        "164.514(b)",
        "not-a-citation",
    ]
    shuffled = expected[:]
    random.Random(7).shuffle(shuffled)
    assert sorted(shuffled, key=sort_key) == expected
    assert sort_key("164.308(a)(2)") < sort_key("164.308(a)(10)")
    assert sort_key(" 164.312(b) ") == sort_key("164.312(b)")
    sort_key("164.312((b")  # malformed citations still get a key
