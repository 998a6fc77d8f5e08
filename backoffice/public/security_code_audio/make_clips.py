"""Regenerate the spoken clips of the security code's audio version (run by hand, once).

The clips are committed, so neither `make run` nor the tests need a speech program; this
script only documents how they were made: Debian's espeak-ng (`apt-get install espeak-ng`),
French voice, then trimmed of silence and halved to 11,025 Hz mono 16-bit in pure Python.

    python backoffice/public/security_code_audio/make_clips.py
"""

from __future__ import annotations

import array
import subprocess
import tempfile
import wave
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORDS = {
    "0": "zéro",
    "1": "un",
    "2": "deux",
    "3": "trois",
    "4": "quatre",
    "5": "cinq",
    "6": "six",
    "7": "sept",
    "8": "huit",
    "9": "neuf",
    "intro": "Code de sécurité.",
    "repeat": "Je répète.",
}
THRESHOLD = 400  # amplitude under which a sample counts as silence


def clip(name: str, text: str) -> None:
    with tempfile.NamedTemporaryFile(suffix=".wav") as tmp:
        subprocess.run(["espeak-ng", "-v", "fr", "-s", "130", "-w", tmp.name, text], check=True)
        with wave.open(tmp.name) as source:
            rate = source.getframerate()
            samples = array.array("h", source.readframes(source.getnframes()))
    loud = [i for i, s in enumerate(samples) if abs(s) > THRESHOLD]
    samples = samples[max(loud[0] - 200, 0) : loud[-1] + 400]
    halved = array.array(
        "h", ((a + b) // 2 for a, b in zip(samples[::2], samples[1::2], strict=False))
    )
    with wave.open(str(HERE / f"{name}.wav"), "wb") as target:
        target.setnchannels(1)
        target.setsampwidth(2)
        target.setframerate(rate // 2)
        target.writeframes(halved.tobytes())


if __name__ == "__main__":
    for name, text in WORDS.items():
        clip(name, text)
