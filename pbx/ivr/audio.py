"""Prompt audio: an uploaded file becomes telephone WAV (checked, normalised) and is stored where Asterisk plays it.

Uploads are untrusted. They are decoded by ffmpeg, restricted to local files and to audio demuxers (a
playlist named .mp3 must not make ffmpeg fetch URLs or read other files), with a time limit, and at
most `max_seconds` + 1 s is decoded, so a long or hostile file costs little. ffmpeg also downmixes and
resamples (pydub's own resampling has no anti-alias filter); pydub measures and sets the level.

Stored files: `<root>/t/<tenant>/<key>.wav` (8 kHz) or `<key>.wav16` (16 kHz: Asterisk's format_wav
refuses a 16 kHz file named .wav), which is what the dialplan contract plays as `pbx/t/<tenant>/<key>`.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
import shutil
import subprocess
import tempfile
import warnings
import wave
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from pbx.media import atomic_write, check_key, fsync_dir

with warnings.catch_warnings():
    # pydub warns at import when ffmpeg is missing (we check for it ourselves, with a clearer error) and
    # imports audioop, deprecated in Python 3.12; neither is ours to fix.
    warnings.filterwarnings("ignore", message="Couldn't find ff", category=RuntimeWarning)
    warnings.filterwarnings("ignore", message=".*audioop", category=DeprecationWarning)
    from pydub import AudioSegment

log = logging.getLogger("pbx.ivr.audio")

NARROWBAND_HZ = 8000
WIDEBAND_HZ = 16000
MAX_BYTES = 20 * 1024 * 1024  # a 2-minute CD-quality WAV fits
MAX_SECONDS = 300.0
DECODE_TIMEOUT_S = 60.0
# Level: average speech at about -20 dBFS, never peaking above -3 dBFS (whichever is reached first),
# so quiet recordings are lifted and loud ones brought down without clipping.
TARGET_RMS_DBFS = -20.0
PEAK_CEILING_DBFS = -3.0
SILENCE_PEAK_DBFS = -50.0  # nothing louder than this anywhere: an empty recording
# ffmpeg demuxers an upload may be read with (names as ffmpeg lists them; "mov" covers mp4/m4a/3gp).
_DEMUXERS = "wav,w64,mp3,ogg,flac,mov,matroska,aac,aiff,caf,asf,amr,au"
_SUFFIX = re.compile(r"\.[A-Za-z0-9]{1,8}")
_EXTENSIONS = {NARROWBAND_HZ: ".wav", WIDEBAND_HZ: ".wav16"}


class AudioRejected(ValueError):
    """An upload that cannot become a prompt. `reason` is a stable code (for the API and translations):
    empty, too-large, not-audio, no-samples, too-long, silent."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class MediaToolsMissing(RuntimeError):
    """ffmpeg is not installed on this machine: the server's fault, not the upload's."""


@dataclass(frozen=True, slots=True)
class WavInfo:
    rate: int
    channels: int
    sample_width: int
    frames: int

    @property
    def seconds(self) -> float:
        return self.frames / self.rate


def _ffmpeg() -> str:
    path = shutil.which("ffmpeg")
    if path is None:
        raise MediaToolsMissing("ffmpeg is not installed (run scripts/ensure-media-tools.sh)")
    return path


def convert_prompt(data: bytes, filename: str, *, wideband: bool = False, max_bytes: int = MAX_BYTES,
                   max_seconds: float = MAX_SECONDS) -> bytes:
    """Any audio file (wav, mp3, ogg, m4a, flac…) → mono 16-bit PCM WAV at 8 kHz (16 kHz if `wideband`),
    loudness normalised. `filename` only hints the format; the content decides. Raises AudioRejected."""
    if not data:
        raise AudioRejected("empty", "The file is empty.")
    if len(data) > max_bytes:
        raise AudioRejected("too-large", f"The file is larger than {_size(max_bytes)}.")
    rate = WIDEBAND_HZ if wideband else NARROWBAND_HZ
    pcm = _decode(data, filename, rate, max_seconds)
    if not pcm:
        raise AudioRejected("no-samples", "The file contains no sound.")
    segment = AudioSegment(data=pcm, sample_width=2, frame_rate=rate, channels=1)
    if len(pcm) / (2 * rate) > max_seconds:
        raise AudioRejected("too-long", f"The recording is longer than {max_seconds:g} seconds.")
    if segment.max_dBFS < SILENCE_PEAK_DBFS:
        raise AudioRejected("silent", "The recording is silent.")
    return wav_bytes(normalise(segment).raw_data, rate)


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:g} MB" if n >= 1024 * 1024 else f"{n / 1024:g} kB"


def _decode(data: bytes, filename: str, rate: int, max_seconds: float) -> bytes:
    """Raw mono s16le samples at `rate`, at most max_seconds + 1 s of them."""
    ffmpeg = _ffmpeg()
    suffix = Path(filename).suffix
    suffix = suffix.lower() if _SUFFIX.fullmatch(suffix) else ""
    with tempfile.TemporaryDirectory(prefix="pbx-audio-") as tmp:
        # a file, not a pipe: m4a/mp4 keep their index at the end and need seeking
        source = Path(tmp) / f"upload{suffix}"
        source.write_bytes(data)
        command = [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error",
                   "-protocol_whitelist", "file", "-format_whitelist", _DEMUXERS, "-i", str(source),
                   "-map", "0:a:0", "-t", f"{max_seconds + 1:g}", "-ac", "1", "-ar", str(rate),
                   "-c:a", "pcm_s16le", "-f", "s16le", "pipe:1"]
        try:
            done = subprocess.run(command, capture_output=True, timeout=DECODE_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            log.warning("decoding an upload timed out", extra={"upload": filename})
            raise AudioRejected("not-audio", "The file could not be read as audio in time.") from None
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
        log.info("ffmpeg could not decode an upload", extra={"upload": filename, "ffmpeg": " | ".join(detail[-3:])})
        raise AudioRejected("not-audio", "The file could not be read as audio (use wav, mp3, ogg, m4a or flac).")
    return done.stdout[: len(done.stdout) // 2 * 2]


def normalise(segment: AudioSegment) -> AudioSegment:
    """Gain towards TARGET_RMS_DBFS, stopping where the peak would pass PEAK_CEILING_DBFS."""
    gain = min(TARGET_RMS_DBFS - segment.dBFS, PEAK_CEILING_DBFS - segment.max_dBFS)
    return segment.apply_gain(gain)


def wav_bytes(pcm: bytes, rate: int) -> bytes:
    """Mono 16-bit PCM samples as a WAV file."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)
    return out.getvalue()


def wav_info(wav: bytes) -> WavInfo:
    """The format of a WAV file; ValueError if it is not one."""
    try:
        with wave.open(io.BytesIO(wav), "rb") as w:
            return WavInfo(w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes())
    except (wave.Error, EOFError) as exc:
        raise ValueError(f"not a WAV file: {exc}") from None


def prompt_path(root: Path, tenant: str, key: str, *, wideband: bool = False) -> Path:
    """Where a tenant's prompt lives (tenant and key checked: nothing outside `root/t/<tenant>`)."""
    check_key(tenant, "tenant")
    check_key(key, "prompt key")
    return root / "t" / tenant / f"{key}{_EXTENSIONS[WIDEBAND_HZ if wideband else NARROWBAND_HZ]}"


def store_prompt(root: Path, tenant: str, key: str, wav: bytes) -> Path:
    """Write a converted prompt atomically: readers see the old file or the new one, never part of one,
    and a failure leaves no temporary file. The other rate's file of the same key is removed, so
    Asterisk cannot go on playing an old wideband recording."""
    info = wav_info(wav)
    if info.rate not in _EXTENSIONS or info.channels != 1 or info.sample_width != 2:
        raise ValueError(f"not a prompt WAV (8 or 16 kHz, mono, 16-bit): {info}")
    target = prompt_path(root, tenant, key, wideband=info.rate == WIDEBAND_HZ)
    atomic_write(target, (wav,))
    prompt_path(root, tenant, key, wideband=info.rate != WIDEBAND_HZ).unlink(missing_ok=True)
    fsync_dir(target.parent)
    return target


def delete_prompt(root: Path, tenant: str, key: str) -> bool:
    """Remove a tenant's prompt (both rates); False if there was none."""
    removed = False
    for wideband in (False, True):
        path = prompt_path(root, tenant, key, wideband=wideband)
        with suppress(FileNotFoundError):
            path.unlink()
            removed = True
    if removed:
        fsync_dir(path.parent)
    return removed


# Decoding takes a subprocess and disk writes fsync: callers on the event loop use these.

async def convert_prompt_async(data: bytes, filename: str, *, wideband: bool = False, max_bytes: int = MAX_BYTES,
                               max_seconds: float = MAX_SECONDS) -> bytes:
    return await asyncio.to_thread(convert_prompt, data, filename, wideband=wideband, max_bytes=max_bytes,
                                   max_seconds=max_seconds)


async def store_prompt_async(root: Path, tenant: str, key: str, wav: bytes) -> Path:
    return await asyncio.to_thread(store_prompt, root, tenant, key, wav)


async def delete_prompt_async(root: Path, tenant: str, key: str) -> bool:
    return await asyncio.to_thread(delete_prompt, root, tenant, key)
