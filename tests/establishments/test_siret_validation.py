import pytest
from django.core.exceptions import ValidationError

from establishments.validators import clean_siret


@pytest.mark.parametrize(
    "typed, stored",
    [
        ("73282932000074", "73282932000074"),
        ("732 829 320 00074", "73282932000074"),
        ("732.829.320.00074", "73282932000074"),
        ("732\u00a0829\u00a0320\u00a000074", "73282932000074"),
    ],
)
def test_it_accepts_and_normalises_valid_sirets(typed, stored):
    assert clean_siret(typed) == stored


def test_it_accepts_a_la_poste_establishment_whose_digit_sum_is_a_multiple_of_5():
    # 3+5+6+0+0+0+0+0+0+0+0+0+0+1 = 15: valid for La Poste, although Luhn would refuse it.
    from stdnum import luhn

    assert not luhn.is_valid("35600000000001")
    assert clean_siret("35600000000001") == "35600000000001"


def test_it_accepts_la_poste_head_office_which_follows_luhn():
    assert clean_siret("356 000 000 00048") == "35600000000048"


def test_it_rejects_a_la_poste_siret_whose_digit_sum_is_not_a_multiple_of_5():
    # Digit sum 16.
    with pytest.raises(ValidationError) as exc:
        clean_siret("35600000000002")
    assert exc.value.code == "checksum"


def test_it_rejects_a_bad_checksum():
    with pytest.raises(ValidationError) as exc:
        clean_siret("73282932000075")
    assert exc.value.code == "checksum"
    assert "invalide" in exc.value.messages[0]


def test_it_rejects_all_zeros_that_stdnum_accepts():
    with pytest.raises(ValidationError) as exc:
        clean_siret("000 000 000 00000")
    assert exc.value.code == "zeros"
    assert exc.value.messages == ["Ce numéro de SIRET n'existe pas."]


@pytest.mark.parametrize("typed", ["7328293200007", "732829320000745", "123"])
def test_it_rejects_wrong_lengths_with_the_count(typed):
    with pytest.raises(ValidationError) as exc:
        clean_siret(typed)
    assert exc.value.code == "length"
    assert f"({len(typed)} saisis)" in exc.value.messages[0]


@pytest.mark.parametrize("typed", ["7328293200007A", "SIRET732829320", "732-829-320-00074"])
def test_it_rejects_letters_and_other_characters(typed):
    with pytest.raises(ValidationError) as exc:
        clean_siret(typed)
    assert exc.value.code == "not_digits"
    assert exc.value.messages == ["Le numéro de SIRET ne doit contenir que des chiffres."]
