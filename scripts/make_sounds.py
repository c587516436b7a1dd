#!/usr/bin/env python3
"""Generates the default prompts in sounds/<lang>/ reproducibly with espeak-ng, and checks them.

Every key of pbx/ivr/catalogue.py SYSTEM_PROMPTS and every word pbx/ivr/say.py composes numbers, times
and digits from, in Swedish and English, plus the beep before a voicemail recording. Same espeak-ng and
ffmpeg versions, same files: fixed voice arguments, and the WAV is written by Python with no metadata.
sounds/manifest.json lists each file's text, sha256 and duration.

    .venv/bin/python scripts/make_sounds.py            # regenerate sounds/
    .venv/bin/python scripts/make_sounds.py --check    # every key recorded and as the manifest says
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import re
import shutil
import subprocess
import sys
import wave
from collections.abc import Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere

from pbx.ivr import audio, say  # noqa: E402
from pbx.ivr.catalogue import SYSTEM_PROMPTS  # noqa: E402

SOUNDS = ROOT / "sounds"
LANGUAGES = ("sv", "en")
VOICES = {"sv": "sv", "en": "en"}  # espeak-ng's Swedish and (British) English voices
# speed 150 words/min (slower than espeak's 175: telephone listeners), default pitch, amplitude, no word gap
ESPEAK_ARGS = ("-s", "150", "-p", "50", "-a", "100", "-g", "0", "-b", "1", "--stdout")
# Words espeak-ng stresses wrongly, said to it in its own phonemes (the manifest keeps the real text).
PRONUNCIATION = {
    "sv": {"minut": "[[mIn'u-t]]", "minuter": "[[mIn'u-tE-R]]", "arton": "[['aRtu:n]]",
           "samtalet": "[[s'amtA:lE-t]]"},
    "en": {},
}
# Silence kept around speech: words are played back to back ("tjugo" "ett"), sentences pause after.
LEAD_MS = 30
TRAIL_MS = 40
SENTENCE_TRAIL_MS = 250
TRIM_BELOW_DBFS = -45.0
BEEP_KEY, BEEP_HZ, BEEP_MS, BEEP_DBFS, BEEP_FADE_MS = "beep", 1000, 300, -6.0, 5
BEEP_TEXT = f"(tone {BEEP_HZ} Hz, {BEEP_MS} ms)"


def prompt_texts(languages: Sequence[str] = LANGUAGES) -> dict[str, dict[str, str]]:
    """lang -> key -> text of everything to record (the beep apart)."""
    texts: dict[str, dict[str, str]] = {}
    for lang in languages:
        words = dict(say.WORDS[lang])
        catalogue = {key: pair[LANGUAGES.index(lang)] for key, pair in SYSTEM_PROMPTS.items()}
        clash = (set(words) & set(catalogue)) | ({BEEP_KEY} & (set(words) | set(catalogue)))
        if clash:
            raise SystemExit(f"prompt keys used twice in {lang}: {sorted(clash)}")
        texts[lang] = {**catalogue, **words}
    return texts


def tools() -> dict[str, str]:
    """The versions the files were made with (another version may give other bytes)."""
    missing = [t for t in ("espeak-ng", "ffmpeg") if shutil.which(t) is None]
    if missing:
        raise SystemExit(f"{' and '.join(missing)} not found: run scripts/ensure-media-tools.sh")
    espeak = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True, check=True).stdout
    ffmpeg = subprocess.run(["ffmpeg", "-version"], capture_output=True, text=True, check=True).stdout
    version = re.search(r"text-to-speech:\s*(\S+)", espeak)
    return {"espeak-ng": version[1] if version else espeak.strip(),
            "ffmpeg": ffmpeg.splitlines()[0].split(" Copyright")[0], "espeak-args": " ".join(ESPEAK_ARGS)}


def espeak_input(text: str, lang: str) -> str:
    for word, phonemes in PRONUNCIATION[lang].items():
        text = re.sub(rf"\b{word}\b", phonemes, text)
    return text


def speak(text: str, lang: str) -> bytes:
    """`text` said by espeak-ng as an 8 kHz mono 16-bit WAV, normalised, silence trimmed."""
    spoken = subprocess.run(["espeak-ng", "-v", VOICES[lang], *ESPEAK_ARGS, espeak_input(text, lang)],
                            capture_output=True, check=True, timeout=60).stdout
    wav = audio.convert_prompt(spoken, "espeak.wav")
    trail = SENTENCE_TRAIL_MS if text.rstrip().endswith((".", "!", "?")) else TRAIL_MS
    return trim(wav, LEAD_MS, trail)


def trim(wav: bytes, lead_ms: int, trail_ms: int) -> bytes:
    """Leading and trailing silence cut to lead_ms and trail_ms."""
    with wave.open(io.BytesIO(wav), "rb") as w:
        rate, pcm = w.getframerate(), w.readframes(w.getnframes())
    threshold = int(32768 * 10 ** (TRIM_BELOW_DBFS / 20))
    samples = memoryview(pcm).cast("h")
    loud = [i for i in range(len(samples)) if abs(samples[i]) > threshold]
    if not loud:
        return wav
    per_ms = rate // 1000
    start = max(0, loud[0] - lead_ms * per_ms)
    end = min(len(samples), loud[-1] + 1 + trail_ms * per_ms)
    body = pcm[2 * start:2 * end] + bytes(2 * max(0, loud[-1] + 1 + trail_ms * per_ms - len(samples)))
    return audio.wav_bytes(body, rate)


def beep(rate: int = audio.NARROWBAND_HZ) -> bytes:
    """The tone before a voicemail recording, computed (no tool involved)."""
    n = rate * BEEP_MS // 1000
    fade = rate * BEEP_FADE_MS // 1000
    amplitude = 32767 * 10 ** (BEEP_DBFS / 20)
    out = bytearray()
    for i in range(n):
        ramp = min(1.0, i / fade, (n - 1 - i) / fade)
        value = round(amplitude * ramp * math.sin(2 * math.pi * BEEP_HZ * i / rate))
        out += value.to_bytes(2, "little", signed=True)
    return audio.wav_bytes(bytes(out), rate)


def entry(text: str, wav: bytes) -> dict[str, Any]:
    return {"text": text, "sha256": hashlib.sha256(wav).hexdigest(),
            "duration_s": round(audio.wav_info(wav).seconds, 3)}


def make_sounds(out: Path = SOUNDS, keys: Collection[str] | None = None,
                languages: Sequence[str] = LANGUAGES) -> dict[str, Any]:
    """Record `keys` (default: everything) into out/<lang>/<key>.wav and write out/manifest.json.
    Recording only some keys updates their entries in an existing manifest; a full run also removes
    recordings no longer listed, so the directory is exactly the manifest."""
    generator = tools()
    texts = prompt_texts(languages)
    jobs = [(lang, key, text) for lang in languages for key, text in sorted(texts[lang].items())
            if keys is None or key in keys]
    if keys is not None:
        unknown = set(keys) - {key for _, key, _ in jobs} - {BEEP_KEY}
        if unknown:
            raise SystemExit(f"no such prompt keys: {sorted(unknown)}")
    with ThreadPoolExecutor(max_workers=8) as pool:
        recorded = list(pool.map(lambda job: speak(job[2], job[0]), jobs))
    prompts: dict[str, dict[str, Any]] = {lang: {} for lang in languages}
    if keys is not None and (out / "manifest.json").is_file():
        earlier = json.loads((out / "manifest.json").read_text(encoding="utf-8")).get("prompts", {})
        prompts = {lang: dict(earlier.get(lang, {})) for lang in {*languages, *earlier}}
    for (lang, key, text), wav in zip(jobs, recorded, strict=True):
        prompts[lang][key] = _write(out / lang / f"{key}.wav", text, wav)
    if keys is None or BEEP_KEY in keys:
        tone = beep()
        for lang in languages:
            prompts[lang][BEEP_KEY] = _write(out / lang / f"{BEEP_KEY}.wav", BEEP_TEXT, tone)
    if keys is None:
        for lang in languages:
            for stale in sorted((out / lang).glob("*.wav")):
                if stale.stem not in prompts[lang]:
                    stale.unlink()
    manifest = {"generator": generator, "rate_hz": audio.NARROWBAND_HZ, "prompts": prompts}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True, ensure_ascii=False) + "\n",
                                       encoding="utf-8")
    return manifest


def _write(path: Path, text: str, wav: bytes) -> dict[str, Any]:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(wav)
    return entry(text, wav)


def check(out: Path = SOUNDS) -> list[str]:
    """What is wrong with out/: keys missing from or unknown to the manifest, texts that changed since
    the recording, files missing or not as the manifest says. Empty when all is well."""
    try:
        manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return [f"no readable manifest: {exc}"]
    problems: list[str] = []
    for lang, wanted in prompt_texts().items():
        listed: dict[str, dict[str, Any]] = manifest.get("prompts", {}).get(lang, {})
        wanted = {**wanted, BEEP_KEY: BEEP_TEXT}
        problems += [f"{lang}/{key}: not recorded" for key in sorted(set(wanted) - set(listed))]
        problems += [f"{lang}/{key}: recorded but no longer wanted" for key in sorted(set(listed) - set(wanted))]
        for key in sorted(set(wanted) & set(listed)):
            if listed[key]["text"] != wanted[key]:
                problems.append(f"{lang}/{key}: text is now {wanted[key]!r}, recorded {listed[key]['text']!r}")
            path = out / lang / f"{key}.wav"
            if not path.is_file():
                problems.append(f"{lang}/{key}: {path} is missing")
            elif hashlib.sha256(path.read_bytes()).hexdigest() != listed[key]["sha256"]:
                problems.append(f"{lang}/{key}: {path} differs from the manifest")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="verify sounds/ against the manifest, change nothing")
    parser.add_argument("--out", type=Path, default=SOUNDS, help="directory to write (default: sounds/)")
    parser.add_argument("keys", nargs="*", help="only these prompt keys (default: all)")
    args = parser.parse_args(argv)
    if args.check:
        problems = check(args.out)
        for problem in problems:
            print(problem, file=sys.stderr)
        print(f"{args.out}: {'OK' if not problems else f'{len(problems)} problems'}")
        return 1 if problems else 0
    manifest = make_sounds(args.out, args.keys or None)
    files = sorted(args.out.glob("*/*.wav"))
    total = sum(p.stat().st_size for p in files)
    count = sum(len(v) for v in manifest["prompts"].values())
    print(f"{args.out}: {count} prompts written, {len(files)} files, {total / 1024:.0f} kB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
