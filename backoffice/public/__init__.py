"""The extranet's public side (S1–S9 pages a company sees): home and login, "Créer mon
espace", the "J'ai oublié…" forms and link landing pages, the objection page and the
assistance form. No back-office login here; rate limits and captchas instead."""
